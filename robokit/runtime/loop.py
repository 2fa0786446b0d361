"""The deploy loop: a policy file drives any Arm (hardware over serial, a real-time SimArm, a FakeArm).

Each tick, on absolute deadlines at the policy's control rate (ARCHITECTURE.md "Tick timing"):
read a fresh state (hardware: PING -> STATE), read the task state (``task_state``: none for Reach), build
the observation with the shared Observer and the env's own Task code (its observation entries and
achieved goal), run the policy, map the action with the shared Controller, pass
the targets through the shared Safety layer, send them, log the tick, sleep until the next deadline.

The safety envelope is the robot's own (its RobotSpec, which the firmware's limits are checked against
on connect); the settings recorded in a policy file can only narrow it (``robokit.core.safety.tightened``).
Everything is validated before the arm is touched: the policy (``policy_checks``: robot, mode, sizes, a
finite action at the home pose, a sane control rate), the task's state sources, the goals (inside the
robot's workspace), the log folder (opened, summary space reserved). Success is the task's ``is_success``
at the policy spec's ``distance_threshold_m`` (the spec wins over the robot's task settings; a note says
when they disagree).

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
from robokit.core.signals import signals_held
from robokit.envs.tasks import Task, task_key
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
from robokit.runtime.task_state import (
    TaskStateSource,
    deploy_task,
    sensed_scene,
    use_spec_threshold,
)
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
        task: Task | type[Task] | None = None,
        sources: Sequence[TaskStateSource] = (),
    ) -> None:
        """Validates everything that does not need the arm (policy, rate, safety block, the task's state
        sources, a finite action at the home pose, the log folder), so a bad input is refused before the
        arm is touched. ``arm`` may be given later (``loop.arm = arm``) once it is connected. ``task``: a
        Task or Task class (default: the policy's task, from its env id), built with the robot folder's
        settings; its success distance is the spec's ``distance_threshold_m``.

        Raises PolicyMismatch (a ValueError) for a policy this robot cannot run, MissingTaskState (a
        PolicyMismatch) when the task reads state no source gives, LogSetupError (a ValueError) for an
        unusable log folder."""
        self.spec, self.policy, self.arm, self.status = policy.spec, policy, arm, status
        self.robot = robot or get_robot(self.spec["robot"])
        self.kin = Kinematics(self.robot)
        try:
            self._prepare(task, sources, hz)
        except BaseException:
            self.kin.close()
            raise
        # a full collection of the large heap (torch, PyBullet) takes 0.1-0.4 s: do it now, before the arm
        # is touched (a firmware watchdog trips after 0.5 s of silence), and freeze what exists so later
        # collections, run()'s included, only scan what was allocated since
        gc.collect()
        gc.freeze()
        self.log_dir = log_dir
        self.tick_log = TickLog(DeployLog(log_dir) if log_dir is not None else None, wire_preview)

    def _prepare(self, task: Task | type[Task] | None, sources: Sequence[TaskStateSource], hz: Any) -> None:
        """The task (the env's Task code), the settings from the spec, controller, safety, observer, and a
        warm-up; raises PolicyMismatch / MissingTaskState (see __init__)."""
        self.task, self.task_notes = deploy_task(self.spec, self.robot, self.kin, task)
        self.settings = check_policy_for_robot(
            self.spec,
            self.robot,
            self.task.obs_dim,
            self.task.goal_dim,
            getattr(self.policy, "typed_spec", None),
        )
        self.task_notes += use_spec_threshold(self.task, self.settings.distance_threshold_m)
        self.scene = sensed_scene(self.task, sources)
        self.hz = check_rate_hz(hz if hz is not None else self.settings.control_hz)
        self.controller = Controller(
            self.robot, self.settings.control_mode, self.kin, self.settings.gripper_actuated
        )
        settings, self.safety_notes = safety_for(self.spec, self.robot)
        self.safety = Safety(settings, self.kin)
        self.observer = Observer(self.kin, self.controller.action_dim, self.task.obs_dim)
        self._timing: dict[str, float] = {}
        self._warm_up()

    @property
    def policy(self) -> DeployPolicy:
        return self._policy

    @policy.setter
    def policy(self, policy: DeployPolicy) -> None:
        """The policy the ticks run; a ``Policy`` runs as its numpy snapshot (``numpy_actor``: the same
        actions, ~0.1 ms a tick instead of torch's ~0.6 ms)."""
        self._policy = policy
        snapshot = getattr(policy, "numpy_actor", None)
        self._act: Callable[[dict[str, np.ndarray]], np.ndarray] = (
            snapshot().act if callable(snapshot) else policy.act
        )

    @property
    def log(self) -> DeployLog | None:
        return self.tick_log.log

    @property
    def ticks(self) -> list[dict[str, Any]]:
        """The tick rows of a run without a log folder (with one, they are in its ticks.jsonl)."""
        return self.tick_log.rows

    @property
    def tolerance_m(self) -> float:
        """The success distance (m): the policy spec's ``distance_threshold_m`` (the task's own setting
        when the spec records none); the task's ``is_success`` uses it."""
        return float(self.task.distance_threshold_m)

    @property
    def ee_goals(self) -> bool:
        """Goals are end-effector positions (checked against the robot's workspace): the task reads no
        bodies, so its achieved goal comes from the arm's state alone."""
        return not self.task.state_bodies and self.task.goal_dim == 3

    def _warm_up(self) -> None:
        """Run policy, controller and safety once on the home pose (nothing is sent), so first-call
        costs (torch's lazy init, kinematics caches) do not land inside the first control period, and a
        policy that answers the home pose with a non-finite or misshapen action is refused now."""
        home = np.asarray(self.robot.home_q, dtype=np.float64)
        goal = np.asarray(self.robot.workspace.goal_box_m).mean(axis=0)
        if not self.ee_goals:  # an object task's goals (Stack: two objects): one box centre per object
            goal = np.resize(goal, self.task.goal_dim)
        obs = self.observer.observe(
            ArmState(q=home, q_is_measured=False, t_s=0.0),
            goal,
            np.zeros(self.controller.action_dim),
            np.zeros(self.task.obs_dim) if self.task.obs_dim else None,
            None if self.ee_goals else goal,  # the objects at their goals: no scene is read yet
        )
        action = np.asarray(self._act(obs), dtype=np.float64)
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
        if self.ee_goals:
            return check_goals(goals, self.robot, floor)
        return [w for g in goals for w in self.task.check_goal(g)[1]]  # the task's own limits

    def run(self, goals: Sequence[np.ndarray], seconds_per_goal: float) -> DeploySummary:
        """Reach each goal (base frame, m) in turn for seconds_per_goal; raises DeployAborted on faults.

        Goals outside the robot's workspace raise GoalOutsideWorkspace (a ValueError) before the arm is
        touched. A goal counts reached at the first tick the task's ``is_success`` says so (within the
        spec's ``distance_threshold_m``); from that tick on, how still the arm holds is measured
        (``holding`` per goal)."""
        if self.arm is None:
            raise ValueError("DeployLoop.run needs an arm: pass it to DeployLoop or set loop.arm")
        goals = [np.asarray(g, dtype=np.float64) for g in goals]
        notes = [*(f"safety: {n}" for n in self.safety_notes), *self.task_notes, *self.check_goals(goals)]
        if not (math.isfinite(seconds_per_goal) and seconds_per_goal > 0):
            raise ValueError(f"seconds_per_goal must be a finite number > 0, got {seconds_per_goal}")
        tolerance = self.tolerance_m
        lateness: list[float] = []
        results: list[dict] = []
        gc.collect()  # what was allocated since __init__ froze the heap: cheap
        gc.freeze()
        t_start = time.monotonic()
        self._tick = 0
        self.safety.reset()
        self._last_action = np.zeros(self.controller.action_dim)
        try:
            reason = self._run_goals(goals, seconds_per_goal, t_start, lateness, results)
        finally:
            gc.unfreeze()
        with signals_held():  # a second Ctrl-C while the summary is written does not lose it
            summary = self._summary(reason, time.monotonic() - t_start, lateness, results, notes, tolerance)
            error = self.tick_log.finish(summary.to_dict())
        if error:
            summary.notes.append(error)
        if reason != "completed":
            raise DeployAborted(reason, summary)
        return summary

    def _run_goals(self, goals, seconds, t_start, lateness, results) -> str:
        """Every goal in turn; returns the exit reason ("completed", or why the run stopped)."""
        self._partial: dict[str, Any] | None = None
        try:
            for gi, goal in enumerate(goals):
                results.append(self._reach(gi, len(goals), goal, seconds, t_start, lateness))
        except BaseException:
            if self._partial is not None:  # the goal the run ended in, up to its last tick
                results.append(self._partial)
            return self._exit_reason()
        return "completed"

    @staticmethod
    def _exit_reason() -> str:
        """Why the run stopped, from the exception being handled."""
        try:
            raise
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

    def _reach(self, gi, n_goals, goal, seconds, t_start, lateness) -> dict[str, Any]:
        """Drive toward one goal for ``seconds``; returns its result (reach error, time, holding)."""
        n_ticks, period = max(1, int(round(seconds * self.hz))), 1.0 / self.hz
        t_goal = time.monotonic()
        first_success_s = first_tick = None
        seen_ee: list[np.ndarray] = []  # every tick of this goal, for the holding measures
        seen_q: list[np.ndarray] = []
        last: tuple[ArmState, np.ndarray] | None = None  # the last tick's state and achieved goal
        try:
            for _ in range(n_ticks):
                deadline = t_start + self._tick * period
                sleep_until(deadline)
                obs, state, q_target, late_ms = self._step(gi, goal, deadline)
                lateness.append(late_ms)
                success, dist = self.task.outcome(obs["achieved_goal"], goal)
                if first_success_s is None and success:
                    first_success_s, first_tick = time.monotonic() - t_goal, len(seen_ee)
                seen_ee.append(np.asarray(obs["observation"][:3], dtype=np.float64))
                seen_q.append(np.asarray(state.q, dtype=np.float64))
                last = (state, np.asarray(obs["achieved_goal"], dtype=np.float64))
                self._write(gi, late_ms, state, obs, self._last_action_raw, q_target)
                if self.status is not None and self._tick % max(1, int(self.hz // 5)) == 0:
                    self._status(gi, n_goals, dist, late_ms, q_target)
                self._tick += 1
        except BaseException:  # the run ends in this goal: its ticks so far still count in the summary
            if last is not None:
                self._partial = goal_result(goal, last[0], seen_ee[-1], last[1], seen_ee, seen_q, first_tick,
                                            first_success_s, self.hz)  # fmt: skip
                self._partial["ended_early"] = True
            raise
        final = self.arm.read()
        if self.scene is not None:
            self.scene.refresh()
        achieved = self.task.achieved_goal(final)
        ee = self.kin.fk(final.q)
        return goal_result(goal, final, ee, achieved, seen_ee, seen_q, first_tick, first_success_s, self.hz)

    def _step(self, gi: int, goal: np.ndarray, deadline: float) -> tuple[dict, ArmState, np.ndarray, float]:
        """One tick after its deadline: read, observe, act, check, send. Returns (obs, state, targets,
        lateness in ms). Raises DeployAborted (the bad tick logged, nothing sent) on a stopped arm, a bad
        action or an unsafe target."""
        t_tick = time.monotonic()
        late_ms = (t_tick - deadline) * 1e3
        state = self.arm.read()
        if self.scene is not None:
            self.scene.refresh()
        t_read = time.monotonic()
        task = self.task  # the env's Task code: its observation entries and achieved goal
        task_obs, achieved = task.observe(state)  # one read of the scene for both
        obs = self.observer.observe(state, goal, self._last_action, task_obs, achieved)
        if stopped := arm_stopped(state):
            self._write(gi, late_ms, state, obs, np.zeros(0), None)
            raise DeployAborted(f"the arm stopped following targets: {stopped}")
        action = np.asarray(self._act(obs), dtype=np.float64)
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
            task=task_key(self.task),
        )

    def close(self) -> None:
        self.tick_log.close()
        self.kin.close()
