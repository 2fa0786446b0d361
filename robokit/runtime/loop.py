"""The deploy loop: a policy file drives any Arm (hardware over serial, a real-time SimArm, a FakeArm).

Each tick, on absolute deadlines at the policy's control rate (ARCHITECTURE.md "Tick timing"):
read a fresh state (hardware: PING -> STATE), read the task state (``task_state``: none for Reach), build
the observation with the shared Observer, run the policy, map the action with the shared Controller, pass
the targets through the shared Safety layer, send them, log the tick, sleep until the next deadline.

The safety envelope is the robot's own (its RobotSpec, which the firmware's limits are checked against
on connect); the settings recorded in a policy file can only narrow it (``robokit.core.safety.tightened``).
Everything is validated before the arm is touched: the policy (``policy_checks``: robot, mode, sizes, a
finite action at the home pose, a sane control rate), the task's state sources, the goals (inside the
robot's workspace), the log folder (opened, summary space reserved). The success distance is the policy
spec's ``distance_threshold_m``.

A NaN/inf action or target stops the run before anything is sent (the arm holds its last target), and
so does a state that says the arm no longer follows targets (e-stop, tripped watchdog, released) or a
failed log write; Ctrl-C, an exception or a lost link end the run with the log and summary.json
complete up to then.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from robokit.core.arm import Arm, ArmDisconnected, ArmState
from robokit.core.control import Controller
from robokit.core.kinematics import Kinematics
from robokit.core.observer import Observer
from robokit.core.safety import Safety, UnsafeTarget
from robokit.robots import RobotSpec, get_robot
from robokit.runtime.deploy_log import DeployLog, LogWriteFailed
from robokit.runtime.policy_checks import (
    PolicyMismatch,
    check_goals,
    check_policy_for_robot,
    check_rate_hz,
    safety_for,
)
from robokit.runtime.summary import DeploySummary, goal_result, summarise
from robokit.runtime.task_state import TaskNeeds, TaskState, TaskStateSource, needs_for_spec
from robokit.runtime.ticks import TickLog, arm_stopped, sleep_until

__all__ = ["DeployAborted", "DeployLoop", "DeployPolicy", "DeploySummary", "PolicyMismatch"]


class DeployPolicy(Protocol):
    """What deploy needs of a policy: its spec (from the policy file) and a deterministic act()."""

    spec: dict[str, Any]

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray: ...


class DeployAborted(RuntimeError):
    """The run stopped early: bad action, lost link, the arm stopped following targets, or the user."""

    def __init__(self, reason: str, summary: DeploySummary | None = None) -> None:
        super().__init__(reason)
        self.reason, self.summary = reason, summary


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
        task: TaskNeeds | type | None = None,
        sources: Sequence[TaskStateSource] = (),
    ) -> None:
        """Validates everything that does not need the arm (policy, rate, safety block, the task's state
        sources, a finite action at the home pose, the log folder), so a bad input is refused before the
        arm is touched. ``arm`` may be given later (``loop.arm = arm``) once it is connected. ``task``: a
        Task class or TaskNeeds (default: the policy's task, from its env id).

        Raises PolicyMismatch (a ValueError) for a policy this robot cannot run, MissingTaskState (a
        PolicyMismatch) when the task needs state no source gives, LogSetupError (a ValueError) for an
        unusable log folder."""
        self.spec = policy.spec
        self.robot = robot or get_robot(self.spec["robot"])
        needs = task if isinstance(task, TaskNeeds) else None
        self.needs = needs or (TaskNeeds.of(task) if task is not None else needs_for_spec(self.spec))
        self.settings = check_policy_for_robot(self.spec, self.robot, self.needs.obs_dim)
        self.task_state = TaskState(self.needs, sources)
        self.policy, self.arm = policy, arm
        self.hz = check_rate_hz(hz if hz is not None else self.settings.control_hz)
        self.kin = Kinematics(self.robot)
        self.controller = Controller(
            self.robot, self.settings.control_mode, self.kin, self.settings.gripper_actuated
        )
        settings, self.safety_notes = safety_for(self.spec, self.robot)
        self.safety = Safety(settings, self.kin)
        self.tolerance_m = self.settings.distance_threshold_m
        self.observer = Observer(self.kin, self.controller.action_dim, self.needs.obs_dim)
        self.status = status
        self._timing: dict[str, float] = {}
        self._warm_up()
        # a full collection of the large heap (torch, PyBullet) takes 0.1-0.4 s: do it now, before the arm
        # is touched (a firmware watchdog trips after 0.5 s of silence), and freeze what exists so later
        # collections, run()'s included, only scan what was allocated since
        gc.collect()
        gc.freeze()
        self.log_dir = log_dir
        self.tick_log = TickLog(DeployLog(log_dir) if log_dir is not None else None, wire_preview)

    @property
    def log(self) -> DeployLog | None:
        return self.tick_log.log

    @property
    def ticks(self) -> list[dict[str, Any]]:
        return self.tick_log.rows

    @property
    def ee_goals(self) -> bool:
        """Goals are end-effector positions (checked against the robot's workspace)."""
        return self.needs.achieved_goal_entry is None and self.settings.goal_dim == 3

    def _warm_up(self) -> None:
        """Run policy, controller and safety once on the home pose (nothing is sent), so first-call
        costs (torch's lazy init, kinematics caches) do not land inside the first control period, and a
        policy that answers the home pose with a non-finite or misshapen action is refused now."""
        home = np.asarray(self.robot.home_q, dtype=np.float64)
        goal = np.asarray(self.robot.workspace.goal_box_m).mean(axis=0)
        obs = self.observer.observe(
            ArmState(q=home, q_is_measured=False, t_s=0.0),
            goal if self.settings.goal_dim == 3 else np.zeros(self.settings.goal_dim),
            np.zeros(self.controller.action_dim),
            np.zeros(self.needs.obs_dim) if self.needs.obs_dim else None,
        )
        action = np.asarray(self.policy.act(obs), dtype=np.float64)
        if action.shape != (self.controller.action_dim,) or not np.all(np.isfinite(action)):
            raise PolicyMismatch(
                f"the policy answers the home pose with a bad action {action.tolist()} "
                "(non-finite weights?); refusing to deploy"
            )
        self.safety.apply(self.controller.targets(action, home), home)
        self.safety.counts = dict.fromkeys(self.safety.counts, 0)

    def check_goals(self, goals: Sequence[np.ndarray]) -> list[str]:
        """Refuse (ValueError) goals of the wrong size, outside the workspace or below the enforced
        floor; returns warnings (goals outside the training region) and the safety notes."""
        for g in goals:
            if np.shape(g) != (self.settings.goal_dim,):
                raise ValueError(f"goal {np.asarray(g).tolist()} must have {self.settings.goal_dim} numbers")
        floor = self.safety.settings.floor_z_m
        return check_goals(goals, self.robot, floor, ee_goals=self.ee_goals)

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
        notes = [*(f"safety: {n}" for n in self.safety_notes), *self.check_goals(goals)]
        if not (math.isfinite(seconds_per_goal) and seconds_per_goal > 0):
            raise ValueError(f"seconds_per_goal must be a finite number > 0, got {seconds_per_goal}")
        tolerance = self.tolerance_m if tolerance_m is None else float(tolerance_m)
        lateness: list[float] = []
        results: list[dict] = []
        gc.collect()  # what was allocated since __init__ froze the heap: cheap
        gc.freeze()
        t_start = time.monotonic()
        self._tick = 0
        self.safety.reset()
        self._last_action = np.zeros(self.controller.action_dim)
        try:
            reason = self._run_goals(goals, seconds_per_goal, tolerance, t_start, lateness, results)
        finally:
            gc.unfreeze()
        summary = self._summary(reason, time.monotonic() - t_start, lateness, results, notes, tolerance)
        error = self.tick_log.finish(summary.to_dict())
        if error:
            summary.notes.append(error)
        if reason != "completed":
            raise DeployAborted(reason, summary)
        return summary

    def _run_goals(self, goals, seconds, tolerance, t_start, lateness, results) -> str:
        """Every goal in turn; returns the exit reason ("completed", or why the run stopped)."""
        try:
            for gi, goal in enumerate(goals):
                results.append(self._reach(gi, len(goals), goal, seconds, tolerance, t_start, lateness))
        except KeyboardInterrupt as exc:  # Ctrl-C; the CLI turns SIGTERM/SIGHUP into one named after them
            return f"interrupted ({exc.args[0] if exc.args else 'Ctrl-C'})"
        except ArmDisconnected as exc:
            return f"link lost: {exc}"
        except DeployAborted as exc:
            return exc.reason
        except LogWriteFailed as exc:
            return f"log write failed ({exc}); nothing more was sent, the arm holds its last target"
        except Exception as exc:  # anything else still ends with the log and summary written
            return f"error: {type(exc).__name__}: {exc}"
        return "completed"

    def _reach(self, gi, n_goals, goal, seconds, tolerance, t_start, lateness) -> dict[str, Any]:
        """Drive toward one goal for ``seconds``; returns its result (reach error, time, holding)."""
        n_ticks, period = max(1, int(round(seconds * self.hz))), 1.0 / self.hz
        t_goal = time.monotonic()
        first_success_s = first_tick = None
        seen_ee: list[np.ndarray] = []  # every tick of this goal, for the holding measures
        seen_q: list[np.ndarray] = []
        for _ in range(n_ticks):
            deadline = t_start + self._tick * period
            sleep_until(deadline)
            obs, state, q_target, late_ms = self._step(gi, goal, deadline)
            lateness.append(late_ms)
            dist = float(np.linalg.norm(obs["achieved_goal"] - goal))
            if first_success_s is None and dist < tolerance:
                first_success_s, first_tick = time.monotonic() - t_goal, len(seen_ee)
            seen_ee.append(np.asarray(obs["observation"][:3], dtype=np.float64))
            seen_q.append(np.asarray(state.q, dtype=np.float64))
            self._write(gi, late_ms, state, obs, self._last_action_raw, q_target)
            if self.status is not None and self._tick % max(1, int(self.hz // 5)) == 0:
                self._status(gi, n_goals, dist, late_ms, q_target)
            self._tick += 1
        final = self.arm.read()
        ee = self.kin.fk(final.q)
        achieved = ee if self.needs.achieved_goal_entry is None else self.task_state.read()[1]
        return goal_result(goal, final, ee, achieved, seen_ee, seen_q, first_tick, first_success_s, self.hz)

    def _step(self, gi: int, goal: np.ndarray, deadline: float) -> tuple[dict, ArmState, np.ndarray, float]:
        """One tick after its deadline: read, observe, act, check, send. Returns (obs, state, targets,
        lateness in ms). Raises DeployAborted (the bad tick logged, nothing sent) on a stopped arm, a bad
        action or an unsafe target."""
        t_tick = time.monotonic()
        late_ms = (t_tick - deadline) * 1e3
        state = self.arm.read()
        task_obs, achieved = self.task_state.read()
        t_read = time.monotonic()
        obs = self.observer.observe(state, goal, self._last_action, task_obs)
        if achieved is not None:
            obs["achieved_goal"] = achieved.astype(np.float32)
        if stopped := arm_stopped(state):
            self._write(gi, late_ms, state, obs, np.zeros(0), None)
            raise DeployAborted(f"the arm stopped following targets: {stopped}")
        action = np.asarray(self.policy.act(obs), dtype=np.float64)
        if action.shape != (self.controller.action_dim,) or not np.all(np.isfinite(action)):
            self._write(gi, late_ms, state, obs, action, None)
            raise DeployAborted(f"policy returned a bad action {action.tolist()}; nothing sent, arm holds")
        try:
            q_target = self.safety.apply(self.controller.targets(action, state.q), state.q)
        except (UnsafeTarget, ValueError) as exc:
            self._write(gi, late_ms, state, obs, action, None)
            raise DeployAborted(f"unsafe target ({exc}); nothing sent, arm holds") from None
        t_computed = time.monotonic()
        self.arm.command(q_target)
        self._timing = {
            "read_ms": round((t_read - t_tick) * 1e3, 3),
            "compute_ms": round((t_computed - t_read) * 1e3, 3),
            "send_ms": round((time.monotonic() - t_computed) * 1e3, 3),
        }
        self._last_action_raw = action
        self._last_action = np.clip(action, -1.0, 1.0)
        return obs, state, q_target, late_ms

    def _write(self, gi, late_ms, state, obs, action, q_target) -> None:
        self.tick_log.write(self._tick, gi, late_ms, state, obs, action, q_target, self._timing)

    def _status(self, gi, n_goals, dist, late_ms, q_target) -> None:
        q = " ".join(f"{v:+.2f}" for v in q_target)
        self.status(
            f"tick {self._tick:5d}  goal {gi + 1}/{n_goals}  dist {dist * 100:5.1f} cm  late {late_ms:5.2f} ms  "
            f"targets [{q}]"
        )

    def _summary(self, reason, elapsed, lateness, goals, notes, tolerance) -> DeploySummary:
        extra = getattr(self.arm, "link_stats", None)
        return summarise(
            reason,
            self._tick,
            elapsed,
            self.hz,
            lateness,
            goals,
            safety_counts=dict(self.safety.counts),
            link=extra() if callable(extra) else {},
            safety={**self.safety.settings.to_dict(), "notes": list(self.safety_notes)},
            notes=list(notes),
            success_threshold_m=tolerance,
        )

    def close(self) -> None:
        self.tick_log.close()
        self.kin.close()
