"""Bring-up: the one sequence that gets any Arm ready to follow targets.

Used by ``robokit deploy``, ``robokit arm enable/home``, the demo and the tests. A latched e-stop is never
cleared here (a person must look at the arm first: ``robokit arm clear``); a tripped watchdog is
cleared (the arm keeps still: its targets equal its setpoints); a released arm is enabled, which resumes
at the last setpoints (home after power-on) and slews to ``pose`` (default home) at the servo speed; an
enabled arm is left as it is (nothing sent: enabling would move it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robokit.core.arm import Arm, ArmDisconnected, ArmError, ArmMode, ArmState
from robokit.runtime.ticks import sleep_until

CLEARED_WATCHDOG = "clearing the tripped watchdog (the arm keeps still)"
ENABLING = (
    "enabling: pulses resume at the last setpoints (the home pose after power-on), then the arm slews home"
)


class ArmNotReady(ArmError):
    """The arm cannot be brought up without a person: its e-stop is latched."""


@dataclass
class BringUp:
    """What ``bring_up`` did: the state after it, and its steps ("cleared_watchdog", "enabled")."""

    state: ArmState
    steps: tuple[str, ...]

    @property
    def enabled(self) -> bool:
        """True if bring-up sent ENABLE (False: the arm was already enabled)."""
        return "enabled" in self.steps


def bring_up(
    arm: Arm,
    *,
    pose: np.ndarray | None = None,
    min_frame: int = 0,
    timeout_s: float = 5.0,
    say: Callable[[str], None] | None = None,
) -> BringUp:
    """Make a connected ``arm`` follow targets; returns what it did.

    min_frame: first wait until the arm reports this servo frame (a freshly booted firmware settles;
    arms without frames skip it), at most ``timeout_s``. say: told each step in one line.

    Raises ArmNotReady (e-stop latched; nothing sent), ArmDisconnected (no frame within ``timeout_s``),
    ArmError (the arm refused or the link failed), ValueError (a pose outside the joint limits)."""
    state = _wait_frame(arm, min_frame, timeout_s)
    steps: list[str] = []
    if state.estop_latched:
        raise ArmNotReady("the e-stop is latched; check the arm, then `robokit arm clear`")
    if state.watchdog_tripped:
        if say is not None:
            say(CLEARED_WATCHDOG)
        state = arm.clear()
        steps.append("cleared_watchdog")
    if state.released:
        if say is not None:
            note = getattr(arm, "enabling_note", ENABLING)
            say(note if pose is None else note.replace("slews home", "slews to the start pose"))
        state = arm.enable(pose)
        steps.append("enabled")
    if state.mode is not ArmMode.ENABLED:
        raise ArmNotReady(
            f"the arm is {state.mode.value} after bring-up ({state.held_by or ', '.join(state.faults) or 'no fault'})"
        )
    return BringUp(state, tuple(steps))


def _wait_frame(arm: Arm, min_frame: int, timeout_s: float) -> ArmState:
    """The first reading whose frame is at least ``min_frame`` (or that has no frame)."""
    deadline = time.monotonic() + timeout_s
    state = arm.read()
    while state.frame is not None and state.frame < min_frame:
        if time.monotonic() > deadline:
            raise ArmDisconnected(f"the arm reached frame {state.frame}, not {min_frame}, in {timeout_s:g} s")
        time.sleep(0.02)
        state = arm.read()
    return state


SLEW_RAD_S = 1.0  # how fast a start pose is approached (the servo drivers' enable slew)


def slew_to(
    arm: Arm,
    pose: np.ndarray,
    hz: float,
    speed_rad_s: float = SLEW_RAD_S,
    tolerance_rad: float = 0.003,
    settle_s: float = 2.0,
) -> float:
    """Move an enabled ``arm`` from where it stands to ``pose`` (n,) rad with every joint at most
    ``speed_rad_s``, one target per tick at ``hz``, then hold ``pose`` until the arm stands within
    ``tolerance_rad`` of it on every joint for three ticks (or ``settle_s``). Returns the largest
    remaining difference (rad). Raises ArmError from the arm."""
    pose = np.asarray(pose, dtype=np.float64)
    period = 1.0 / hz
    start = np.asarray(arm.read().q, dtype=np.float64)
    ticks = max(1, int(np.ceil(np.max(np.abs(pose - start)) / (speed_rad_s * period))))
    t0 = time.monotonic()
    for k in range(1, ticks + 1):
        sleep_until(t0 + k * period)
        arm.command(start + (pose - start) * (k / ticks))
    still, end, off = 0, time.monotonic() + settle_s, np.inf
    while still < 3 and time.monotonic() < end:
        off = float(np.max(np.abs(arm.read().q - pose)))
        still = still + 1 if off <= tolerance_rad else 0
        arm.command(pose)
        time.sleep(period)
    return off
