"""The deploy loop: a policy file drives an Arm (hardware over serial, or a real-time SimArm).

Each tick, on absolute deadlines at the policy's control rate (ARCHITECTURE.md "Tick timing"):
read a fresh state (hardware: PING -> STATE), build the observation with the shared Observer, run the
policy, map the action with the shared Controller, pass the targets through the shared Safety layer,
send them, log the tick, sleep until the next deadline.

The safety envelope is the robot's own (its RobotSpec, which the firmware's limits are checked against
on connect); the settings recorded in a policy file can only narrow it (``robokit.core.safety.tightened``).
Everything is validated before the arm is touched: the policy (a finite action at the home pose, a sane
control rate), the goals (inside the robot's workspace), the log folder (opened, summary space reserved).

A NaN/inf action or target stops the run before anything is sent (the arm holds its last target), and
so does a state that says the arm no longer follows targets (e-stop, tripped watchdog, released) or a
failed log write; Ctrl-C, an exception or a lost link end the run with the log and summary.json
complete up to then.
"""

from __future__ import annotations

import gc
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from robokit.core.arm import Arm, ArmDisconnected, ArmState
from robokit.core.control import Controller
from robokit.core.kinematics import Kinematics
from robokit.core.observer import Observer
from robokit.core.safety import Safety, SafetySettings, UnsafeTarget, tightened
from robokit.firmware_bridge.deploy_log import DeployLog, LogWriteFailed
from robokit.policies.compat import PolicyMismatchError, check_fits_robot
from robokit.policies.holding import HOLD_SETTLE_S, holding_after_success, holding_metrics, median_holding
from robokit.robots import GoalOutsideWorkspace, RobotSpec, get_robot

SPIN_S = 0.002  # sleep until this close to a deadline, then spin: sleep() alone overshoots by ~0.1-1 ms
MIN_CONTROL_HZ, MAX_CONTROL_HZ = 1.0, 1000.0  # above 1 kHz a tick cannot even read the arm (wire ~0.7 ms)
DEFAULT_TOLERANCE_M = 0.02  # success distance when a policy file records none


class DeployPolicy(Protocol):
    """What deploy needs of a policy: its spec (from the policy file) and a deterministic act()."""

    spec: dict[str, Any]

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray: ...


# The policy file was made for another robot, control mode or observation layout: one exception type
# for it across robokit (a ValueError).
PolicyMismatch = PolicyMismatchError


class DeployAborted(RuntimeError):
    """The run stopped early: bad action, lost link, or the user."""

    def __init__(self, reason: str, summary: DeploySummary | None = None) -> None:
        super().__init__(reason)
        self.reason, self.summary = reason, summary


@dataclass
class DeploySummary:
    """What a deploy run did. Lateness in ms past the tick's deadline; errors in m."""

    exit_reason: str
    ticks: int
    duration_s: float
    target_hz: float
    achieved_hz: float
    lateness_p50_ms: float
    lateness_p99_ms: float
    lateness_max_ms: float
    missed_deadlines: int
    goals: list[dict] = field(default_factory=list)
    safety_counts: dict[str, int] = field(default_factory=dict)
    link: dict[str, Any] = field(default_factory=dict)
    holding: dict[str, Any] = field(default_factory=dict)  # medians over goals (policies.holding)
    safety: dict[str, Any] = field(default_factory=dict)  # the envelope enforced, and why
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_policy_for_robot(spec: dict[str, Any], robot: RobotSpec) -> None:
    """Refuse, before the arm is touched, a policy this robot cannot run: the one check in
    ``robokit.policies.compat.check_fits_robot`` (another robot, an unknown control mode, other sizes)."""
    check_fits_robot(spec, robot)


def check_rate_hz(hz: Any) -> float:
    """A control rate in Hz: a finite number in [MIN_CONTROL_HZ, MAX_CONTROL_HZ] (the policy file's own
    range); PolicyMismatch otherwise."""
    try:
        value = float(hz)
    except (TypeError, ValueError):
        raise PolicyMismatch(f"control rate {hz!r} is not a number") from None
    if not (MIN_CONTROL_HZ <= value <= MAX_CONTROL_HZ):
        raise PolicyMismatch(
            f"control rate {value:g} Hz is outside [{MIN_CONTROL_HZ:g}, {MAX_CONTROL_HZ:g}] Hz; refusing to deploy"
        )
    return value


def safety_for(spec: dict[str, Any], robot: RobotSpec) -> tuple[SafetySettings, list[str]]:
    """The envelope a deploy enforces: the robot's own, narrowed (never widened) by the policy file's
    recorded ``safety`` block. Returns (settings, notes); PolicyMismatch if the block is malformed."""
    try:
        return tightened(SafetySettings.from_spec(robot), spec.get("safety"))
    except ValueError as exc:
        raise PolicyMismatch(f"policy file's safety block: {exc}; refusing to deploy") from None


def check_goals(goals: Sequence[np.ndarray], robot: RobotSpec, floor_z_m: float | None = None) -> list[str]:
    """Refuse (GoalOutsideWorkspace, a ValueError) any goal the robot cannot reach, or below ``floor_z_m``
    (the envelope actually enforced, which a policy file may have raised); return warnings for reachable
    goals outside the region training sampled from."""
    warnings: list[str] = []
    for goal in goals:
        warnings += robot.check_goal(goal)
        z = float(np.asarray(goal)[2])
        if floor_z_m is not None and z < floor_z_m:
            raise GoalOutsideWorkspace(
                f"goal z = {z:.3f} m is below the floor this run enforces ({floor_z_m:.3f} m, raised by the "
                "policy file's safety settings)"
            )
    return warnings


def parse_goal(text: str) -> np.ndarray:
    """'x,y,z' in m (base frame) -> (3,) array; clear error otherwise."""
    try:
        goal = np.array([float(v) for v in text.split(",")], dtype=np.float64)
    except ValueError:
        raise ValueError(f"goal must be three numbers x,y,z in metres, got {text!r}") from None
    if goal.shape != (3,) or not np.all(np.isfinite(goal)):
        raise ValueError(f"goal must be three finite numbers x,y,z in metres, got {text!r}")
    return goal


class DeployLoop:
    """Runs one policy on one arm. ``run()`` returns a DeploySummary and writes the log folder."""

    def __init__(
        self,
        policy: DeployPolicy,
        arm: Arm | None = None,
        robot: RobotSpec | None = None,
        hz: float | None = None,
        log_dir: Path | None = None,
        status: Callable[[str], None] | None = None,
        wire_preview: Callable[[np.ndarray], str] | None = None,
    ) -> None:
        """Validates everything that does not need the arm (policy, rate, safety block, a finite action
        at the home pose, the log folder), so a bad input is refused before the arm is touched. ``arm``
        may be given later (``loop.arm = arm``) once it is connected.

        Raises PolicyMismatch (a ValueError) for a policy this robot cannot run, LogSetupError (a
        ValueError) for an unusable log folder."""
        self.spec = policy.spec
        self.robot = robot or get_robot(self.spec["robot"])
        check_policy_for_robot(self.spec, self.robot)
        self.policy, self.arm = policy, arm
        self.hz = check_rate_hz(hz if hz is not None else self.spec["control_hz"])
        self.kin = Kinematics(self.robot)
        self.controller = Controller(
            self.robot, self.spec["control_mode"], self.kin, bool(self.spec.get("gripper_actuated", False))
        )
        settings, self.safety_notes = safety_for(self.spec, self.robot)
        self.safety = Safety(settings, self.kin)
        self.tolerance_m = float(self.spec.get("distance_threshold_m") or DEFAULT_TOLERANCE_M)
        self.observer = Observer(self.kin, self.controller.action_dim)
        self.status = status
        self.wire_preview = wire_preview
        self._ticks: list[dict[str, Any]] = []
        self._timing: dict[str, float] = {}
        self._warm_up()
        self.log = DeployLog(log_dir) if log_dir is not None else None
        self.log_dir = log_dir

    def _warm_up(self) -> None:
        """Run policy, controller and safety once on the home pose (nothing is sent), so first-call
        costs (torch's lazy init, kinematics caches) do not land inside the first control period, and a
        policy that answers the home pose with a non-finite or misshapen action is refused now."""
        home = np.asarray(self.robot.home_q, dtype=np.float64)
        obs = self.observer.observe(
            ArmState(q=home, q_is_measured=False, t_s=0.0),
            np.asarray(self.robot.workspace.goal_box_m).mean(axis=0),
            np.zeros(self.controller.action_dim),
        )
        action = np.asarray(self.policy.act(obs), dtype=np.float64)
        if action.shape != (self.controller.action_dim,) or not np.all(np.isfinite(action)):
            raise PolicyMismatch(
                f"the policy answers the home pose with a bad action {action.tolist()} "
                "(non-finite weights?); refusing to deploy"
            )
        self.safety.apply(self.controller.targets(action, home), home)
        self.safety.counts = dict.fromkeys(self.safety.counts, 0)

    def run(
        self, goals: Sequence[np.ndarray], seconds_per_goal: float, tolerance_m: float | None = None
    ) -> DeploySummary:
        """Reach each goal (base frame, m) in turn for seconds_per_goal; raises DeployAborted on faults.

        Goals outside the robot's workspace raise GoalOutsideWorkspace (a ValueError) before the arm is
        touched. ``tolerance_m`` (default: the policy's ``distance_threshold_m``) counts a goal reached;
        from that tick on, how still the arm holds is measured (``holding`` per goal)."""
        if self.arm is None:
            raise ValueError("DeployLoop.run needs an arm: pass it to DeployLoop or set loop.arm")
        goals = [np.asarray(g, dtype=np.float64) for g in goals]
        floor = self.safety.settings.floor_z_m
        notes = [*(f"safety: {n}" for n in self.safety_notes), *check_goals(goals, self.robot, floor)]
        if not (math.isfinite(seconds_per_goal) and seconds_per_goal > 0):
            raise ValueError(f"seconds_per_goal must be a finite number > 0, got {seconds_per_goal}")
        tolerance = self.tolerance_m if tolerance_m is None else float(tolerance_m)
        period = 1.0 / self.hz
        lateness: list[float] = []
        goal_results: list[dict] = []
        reason = "completed"
        # a full collection of the large heap (torch, PyBullet) takes ~100 ms: do it now, then freeze
        # what exists so the loop's collections only scan what the loop itself allocates
        gc.collect()
        gc.freeze()
        t_start = time.monotonic()
        self._tick = 0
        self.safety.reset()
        self._last_action = np.zeros(self.controller.action_dim)
        try:
            for gi, goal in enumerate(goals):
                goal_results.append(
                    self._reach(gi, len(goals), goal, seconds_per_goal, tolerance, t_start, period, lateness)
                )
        except KeyboardInterrupt as exc:  # Ctrl-C; the CLI turns SIGTERM/SIGHUP into one named after them
            reason = f"interrupted ({exc.args[0] if exc.args else 'Ctrl-C'})"
        except ArmDisconnected as exc:
            reason = f"link lost: {exc}"
        except DeployAborted as exc:
            reason = exc.reason
        except LogWriteFailed as exc:
            reason = f"log write failed ({exc}); nothing more was sent, the arm holds its last target"
        except Exception as exc:  # anything else still ends with the log and summary written
            reason = f"error: {type(exc).__name__}: {exc}"
        finally:
            gc.unfreeze()
        summary = self._summary(reason, self._tick, time.monotonic() - t_start, lateness, goal_results, notes)
        if self.log is not None:
            error = self.log.write_summary(summary.to_dict())
            self.log.close()
            if error:
                summary.notes.append(error)
        if reason != "completed":
            raise DeployAborted(reason, summary)
        return summary

    def _reach(self, gi, n_goals, goal, seconds, tolerance, t_start, period, lateness) -> dict[str, Any]:
        """Drive toward one goal for ``seconds``; returns its result (reach error, time, holding)."""
        n_ticks = max(1, int(round(seconds * self.hz)))
        t_goal = time.monotonic()
        first_success_s = first_tick = None
        seen_ee: list[np.ndarray] = []  # every tick of this goal, for the holding measures
        seen_q: list[np.ndarray] = []
        for _ in range(n_ticks):
            deadline = t_start + self._tick * period
            _sleep_until(deadline)
            t_tick = time.monotonic()
            late_ms = (t_tick - deadline) * 1e3
            state = self.arm.read()
            t_read = time.monotonic()
            obs = self.observer.observe(state, goal, self._last_action)
            if stopped := _arm_stopped(state):
                self._write_tick(self._tick, gi, late_ms, state, obs, np.zeros(0), None)
                raise DeployAborted(f"the arm stopped following targets: {stopped}")
            action = np.asarray(self.policy.act(obs), dtype=np.float64)
            if action.shape != (self.controller.action_dim,) or not np.all(np.isfinite(action)):
                self._write_tick(self._tick, gi, late_ms, state, obs, action, None)
                raise DeployAborted(
                    f"policy returned a bad action {action.tolist()}; nothing sent, arm holds"
                )
            try:
                q_target = self.safety.apply(self.controller.targets(action, state.q), state.q)
            except (UnsafeTarget, ValueError) as exc:
                self._write_tick(self._tick, gi, late_ms, state, obs, action, None)
                raise DeployAborted(f"unsafe target ({exc}); nothing sent, arm holds") from None
            t_computed = time.monotonic()
            self.arm.command(q_target)
            self._timing = {
                "read_ms": round((t_read - t_tick) * 1e3, 3),
                "compute_ms": round((t_computed - t_read) * 1e3, 3),
                "send_ms": round((time.monotonic() - t_computed) * 1e3, 3),
            }
            self._last_action = np.clip(action, -1.0, 1.0)
            lateness.append(late_ms)
            dist = float(np.linalg.norm(obs["achieved_goal"] - goal))
            if first_success_s is None and dist < tolerance:
                first_success_s, first_tick = time.monotonic() - t_goal, len(seen_ee)
            seen_ee.append(np.asarray(obs["achieved_goal"], dtype=np.float64))
            seen_q.append(np.asarray(state.q, dtype=np.float64))
            self._write_tick(self._tick, gi, late_ms, state, obs, action, q_target)
            if self.status is not None and self._tick % max(1, int(self.hz // 5)) == 0:
                self._status(self._tick, gi, n_goals, dist, late_ms, q_target)
            self._tick += 1
        final = self.arm.read()
        ee = self.kin.fk(final.q)
        ee_a, q_a = np.reshape(seen_ee, (-1, 3)), np.reshape(seen_q, (-1, self.robot.n_joints))
        reached = first_tick is not None
        return {
            "goal_m": goal.tolist(),
            "final_ee_m": ee.tolist(),
            "reach_error_m": float(np.linalg.norm(ee - goal)),
            "time_to_reach_s": first_success_s,
            # as evaluation: from HOLD_SETTLE_S after the first success, and from the first success itself
            "holding": holding_after_success(ee_a, q_a, first_tick, self.hz, HOLD_SETTLE_S)
            if reached
            else None,
            "holding_from_first_success": holding_metrics(ee_a[first_tick:], q_a[first_tick:], self.hz)
            if reached
            else None,
            "final_q": final.q.tolist(),
            "frame": final.frame,
        }

    def _write_tick(self, tick, goal_index, late_ms, state, obs, action, q_target) -> None:
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
            },
            "obs": obs["observation"].tolist(),
            "ee_m": obs["achieved_goal"].tolist(),
            "goal_m": obs["desired_goal"].tolist(),
            "action": [a if math.isfinite(a) else str(a) for a in np.asarray(action, dtype=float).tolist()],
            "targets": None if q_target is None else q_target.tolist(),
            "telemetry": state.extra,
        }
        if q_target is not None:
            row.update(self._timing)
        if q_target is not None and self.wire_preview is not None:
            row["wire"] = self.wire_preview(q_target)
        self._ticks.append(row)
        if self.log is not None:
            self.log.write_tick(row)

    def _status(self, tick, gi, n_goals, dist, late_ms, q_target) -> None:
        q = " ".join(f"{v:+.2f}" for v in q_target)
        self.status(
            f"tick {tick:5d}  goal {gi + 1}/{n_goals}  dist {dist * 100:5.1f} cm  late {late_ms:5.2f} ms  targets [{q}]"
        )

    def _summary(self, reason, ticks, elapsed, lateness, goals, notes) -> DeploySummary:
        lat = np.asarray(lateness) if lateness else np.zeros(1)
        period_ms = 1e3 / self.hz
        extra = getattr(self.arm, "link_stats", None)
        return DeploySummary(
            exit_reason=reason,
            ticks=ticks,
            duration_s=elapsed,
            target_hz=self.hz,
            achieved_hz=ticks / elapsed if elapsed > 0 else 0.0,
            lateness_p50_ms=float(np.percentile(lat, 50)),
            lateness_p99_ms=float(np.percentile(lat, 99)),
            lateness_max_ms=float(lat.max()),
            missed_deadlines=int(np.sum(lat > period_ms)),
            goals=goals,
            safety_counts=dict(self.safety.counts),
            link=extra() if callable(extra) else {},
            holding={
                "from_settle": median_holding(goals),
                "from_first_success": median_holding(goals, "holding_from_first_success"),
                "settle_s": HOLD_SETTLE_S,
            },
            safety={**self.safety.settings.to_dict(), "notes": list(self.safety_notes)},
            notes=list(notes),
        )

    @property
    def ticks(self) -> list[dict[str, Any]]:
        return self._ticks

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
        self.kin.close()


def _arm_stopped(state: ArmState) -> str:
    """Why the arm no longer follows targets (e-stop, watchdog, released), or '' if it does."""
    if state.estop_latched:
        return "e-stop latched (check the arm, then `robokit arm clear`)"
    if state.watchdog_tripped:
        return "firmware watchdog tripped (no command within its timeout: was the host stalled?)"
    if state.released:
        return "servos released (no pulses); `robokit arm enable` or deploy again"
    return ""


def _sleep_until(deadline: float) -> None:
    """Sleep, then spin, until time.monotonic() >= deadline."""
    remaining = deadline - time.monotonic()
    if remaining > SPIN_S:
        time.sleep(remaining - SPIN_S)
    while time.monotonic() < deadline:
        pass


def plot_joints(log_dir: Path, robot: RobotSpec) -> Path:
    """joints.png: commanded targets vs reported joint angles per joint, from ticks.jsonl."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in (log_dir / "ticks.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["targets"] is not None]
    out = log_dir / "joints.png"
    n = robot.n_joints
    fig, axes = plt.subplots(n, 1, figsize=(8, 1.6 * n), sharex=True)
    if rows:
        t = np.array([r["tick"] for r in rows])
        q = np.array([r["q"] for r in rows])
        tg = np.array([r["targets"] for r in rows])
        for j, ax in enumerate(np.atleast_1d(axes)):
            ax.plot(t, tg[:, j], label="commanded", lw=1.2)
            ax.plot(t, q[:, j], label="reported", lw=1.2, ls="--")
            ax.set_ylabel(f"{robot.joint_names[j]}\n(rad)", fontsize=8)
        np.atleast_1d(axes)[0].legend(loc="upper right", fontsize=8)
    np.atleast_1d(axes)[-1].set_xlabel("tick")
    fig.suptitle(f"{robot.name}: commanded vs reported joint angles")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
