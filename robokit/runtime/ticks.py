"""Tick-level helpers of the deploy loop: absolute-deadline sleep, the stopped-arm check, the tick log."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from robokit.core.arm import ArmMode, ArmState
from robokit.runtime.deploy_log import DeployLog

SPIN_S = 0.0005  # sleep until this close to a deadline, then spin: sleep() overshoots by ~0.1 ms (p99 0.2)


def sleep_until(deadline: float) -> None:
    """Sleep, then spin, until time.monotonic() >= deadline (s)."""
    remaining = deadline - time.monotonic()
    if remaining > SPIN_S:
        time.sleep(remaining - SPIN_S)
    while time.monotonic() < deadline:
        pass


def arm_stopped(state: ArmState) -> str:
    """Why the arm no longer follows targets, or '' if it does: ``state.mode`` decides (e-stop over
    release over a tripped watchdog), and a release the watchdog caused says so."""
    mode = state.mode
    if mode is ArmMode.ENABLED:
        return ""
    if mode is ArmMode.ESTOP:
        return "e-stop latched (check the arm, then `robokit arm clear`)"
    if state.held_by and mode is ArmMode.HOLDING:
        return f"the arm holds: {state.held_by}"
    watchdog = "firmware watchdog tripped (no command within its timeout: was the host stalled?)"
    if mode is ArmMode.RELEASED:
        cause = f"; the {watchdog}" if state.watchdog_tripped else ""
        return f"servos released (no pulses){cause}; `robokit arm enable` or deploy again"
    return watchdog


class TickLog:
    """Every tick as a row: appended to ``ticks.jsonl`` when a DeployLog is given, else kept in ``rows``
    (not both: a minute at 200 Hz is a million tracked objects, and the collector's full pass over them
    stalls a tick by ~30 ms). ``wire_preview(q_target) -> str`` adds the bytes a hardware arm would be
    sent (dry runs)."""

    def __init__(
        self, log: DeployLog | None, wire_preview: Callable[[np.ndarray], str] | None = None
    ) -> None:
        self.log, self.wire_preview = log, wire_preview
        self.rows: list[dict[str, Any]] = []

    def write(
        self, tick, goal_index, late_ms, state, obs, action, q_target, timing: dict[str, float]
    ) -> None:
        """One tick's row; raises LogWriteFailed when ticks.jsonl cannot be written."""
        row = {
            "tick": tick,
            "goal_index": goal_index,
            "t_s": state.t_s,
            "lateness_ms": round(late_ms, 4),
            "frame": state.frame,
            "q": state.q.tolist(),
            "q_is_measured": state.q_is_measured,
            "flags": {
                "watchdog": state.watchdog_tripped,
                "estop": state.estop_latched,
                "released": state.released,
                **({"held_by": state.held_by} if state.held_by else {}),  # a bus arm holding after faults
            },
            "obs": obs["observation"].tolist(),
            "ee_m": obs["observation"][:3].tolist(),
            "achieved_goal": obs["achieved_goal"].tolist(),
            "goal_m": obs["desired_goal"].tolist(),
            "action": [a if math.isfinite(a) else str(a) for a in np.asarray(action, dtype=float).tolist()],
            "targets": None if q_target is None else q_target.tolist(),
            "telemetry": state.extra,
        }
        if q_target is not None:
            row.update(timing)
        if q_target is not None and self.wire_preview is not None:
            row["wire"] = self.wire_preview(q_target)
        if self.log is not None:
            self.log.write_tick(row)
        else:
            self.rows.append(row)

    def finish(self, summary: dict[str, Any]) -> str | None:
        """Write summary.json and close the log; returns None, or why the summary could not be written."""
        if self.log is None:
            return None
        if failed := self.log.finish_ticks():  # the last ticks are written before the summary
            summary.setdefault("notes", []).append(failed)
        error = self.log.write_summary(summary)
        self.log.close()
        return error

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
