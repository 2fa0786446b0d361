"""The task a deploy runs, and task-state sources: where its bodies' states come from on a real arm.

A deploy runs the same Task code the env uses (``robokit.envs.tasks``), built from the policy spec's env
id with the robot folder's task settings: the task gives the observation entries (``observation()``,
``obs_dim``), the achieved goal (``achieved_goal(state)``) and success (``is_success``). In simulation a
task reads the bodies it names in ``state_bodies`` from PyBullet; on a real arm the same names are read
from ``TaskStateSource``s (a camera tracking an object, a motion-capture stream) through a
``SensedScene``, which the task reads exactly as it reads the simulator. Reach reads none.

A deploy whose task reads bodies no source gives is refused (``MissingTaskState``) before the arm is
touched, with a message naming them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from robokit.policies.compat import PolicyMismatchError

if TYPE_CHECKING:
    from robokit.core.kinematics import Kinematics
    from robokit.envs.tasks import Task
    from robokit.robots import RobotSpec


class MissingTaskState(PolicyMismatchError):
    """The task reads bodies (task state) that no source given to the deploy provides."""


def _vector(value: Any, n: int, what: str) -> np.ndarray:
    """``value`` as a finite (n,) float64 array; ValueError naming ``what`` otherwise."""
    try:
        v = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"task state: {what} must be {n} numbers, got {value!r}") from None
    if v.shape != (n,) or not np.all(np.isfinite(v)):
        raise ValueError(f"task state: {what} must be {n} finite numbers, got {v.tolist()}")
    return v


@dataclass(frozen=True)
class BodyState:
    """One body's state as a sensor gives it, in the robot base frame: position (3,) m, orientation (4,)
    quaternion xyzw, linear (3,) m/s and angular (3,) rad/s velocity. What a sensor does not measure
    keeps its default (identity orientation, at rest). ValueError for a wrong size or a non-finite value."""

    position_m: Any
    orientation_xyzw: Any = (0.0, 0.0, 0.0, 1.0)
    velocity_m_s: Any = (0.0, 0.0, 0.0)
    angular_velocity_rad_s: Any = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        for name, n in (("position_m", 3), ("orientation_xyzw", 4), ("velocity_m_s", 3)):
            object.__setattr__(self, name, _vector(getattr(self, name), n, name))
        object.__setattr__(
            self, "angular_velocity_rad_s", _vector(self.angular_velocity_rad_s, 3, "angular_velocity_rad_s")
        )


@runtime_checkable
class TaskStateSource(Protocol):
    """Gives the state of named bodies each tick: ``read() -> {name: BodyState}`` (or a (3,) position in
    m, base frame) for every name in ``bodies``. May raise to end the run (the loop stops, the arm holds)."""

    bodies: tuple[str, ...]

    def read(self) -> Mapping[str, Any]: ...


@dataclass
class SensedScene:
    """The bodies a task reads, from task-state sources: the task reads ``position(name)`` & co. here as
    it reads the simulator. ``refresh()`` reads every source once per tick."""

    task_name: str
    needed: tuple[str, ...]
    sources: Sequence[TaskStateSource] = ()
    _states: dict[str, BodyState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Raises MissingTaskState (naming the missing bodies) unless the sources cover every one."""
        by_body: dict[str, TaskStateSource] = {}
        for source in self.sources:
            for body in source.bodies:
                by_body.setdefault(body, source)
        missing = [b for b in self.needed if b not in by_body]
        if missing:
            raise MissingTaskState(
                f"task {self.task_name!r} needs task state ({', '.join(missing)}) and no task-state source "
                "gives it (the CLI has none for a real arm yet; the Python API takes TaskStateSources); "
                "--dry-run runs it in simulation; refusing to deploy"
            )
        self.sources = list(dict.fromkeys(by_body[b] for b in self.needed))

    def refresh(self) -> None:
        """Read every source once; ValueError if one leaves out a needed body or gives a bad value."""
        states: dict[str, BodyState] = {}
        for source in self.sources:
            for name, value in source.read().items():
                if name in self.needed and name not in states:
                    states[name] = value if isinstance(value, BodyState) else BodyState(position_m=value)
        missing = [b for b in self.needed if b not in states]
        if missing:
            raise ValueError(f"task-state sources gave no state for {', '.join(missing)} this tick")
        self._states = states

    def _state(self, body: str) -> BodyState:
        if body not in self._states:
            raise KeyError(f"no task state for body {body!r}; the task reads {list(self.needed)}")
        return self._states[body]

    def position(self, body: str) -> np.ndarray:
        return self._state(body).position_m.copy()

    def orientation(self, body: str) -> np.ndarray:
        return self._state(body).orientation_xyzw.copy()

    def velocity(self, body: str) -> np.ndarray:
        return self._state(body).velocity_m_s.copy()

    def angular_velocity(self, body: str) -> np.ndarray:
        return self._state(body).angular_velocity_rad_s.copy()


def task_name_of(task_cls: type) -> str:
    """The task table's name of a Task class (or of the table's class it extends; else its own name)."""
    from robokit.envs.tasks import TASKS

    return next((n for n, c in TASKS.items() if issubclass(task_cls, c)), task_cls.__name__.lower())


def deploy_task(
    spec: Mapping[str, Any], robot: RobotSpec, kin: Kinematics, task: Task | type[Task] | None = None
) -> tuple[Task, list[str]]:
    """The task a deploy runs: ``task`` (a Task, or a class built here), else the policy's own (the
    ``task`` of its ``env_id`` in robokit's id table), built as the env builds it, with the robot
    folder's settings for it. Returns (task, notes). Raises PolicyMismatchError for an env id this robokit
    does not know (before the arm is touched: the loop is built before any arm is connected)."""
    from robokit.envs.registration import ENV_SPECS
    from robokit.envs.tasks import TASKS, Task

    if isinstance(task, Task):
        return task, []
    notes: list[str] = []
    if task is None:
        env_id = spec.get("env_id")
        name = ENV_SPECS.get(env_id, {}).get("task") if isinstance(env_id, str) else None
        if name not in TASKS:  # guessing a task could run an object policy as Reach
            raise PolicyMismatchError(
                f"the policy's env id {env_id!r} is not one this robokit knows (`robokit envs` lists them; a "
                "robot folder's ids exist once it is registered with robokit.robots.register_robot); "
                "refusing to deploy"
            )
        task = TASKS[name]
    return task(robot, kin, "sparse", settings=_robot_task_settings(robot, task_name_of(task))), notes


def _robot_task_settings(robot: RobotSpec, task: str) -> dict[str, Any]:
    """The robot folder's settings for ``task`` (none for a robot that is not registered)."""
    from robokit.robots import robot_folder

    try:
        return robot_folder(robot.name).task_settings(task)
    except KeyError:
        return {}


def use_spec_threshold(task: Task, spec_threshold_m: float | None) -> list[str]:
    """Make the policy spec's ``distance_threshold_m`` the task's success distance (the spec records what
    the policy was trained with: it wins over the robot's task settings). Returns notes: the two
    disagree, or the spec records none (the robot's task setting is used then)."""
    own = float(task.distance_threshold_m)
    if spec_threshold_m is None:
        return [
            f"success threshold: the policy file records none; the robot's task setting {own:g} m is used"
        ]
    task.distance_threshold_m = float(spec_threshold_m)
    if abs(own - task.distance_threshold_m) > 1e-12:
        return [
            f"success threshold: the policy file's {task.distance_threshold_m:g} m is used; the robot's task "
            f"settings give {own:g} m"
        ]
    return []


def sensed_scene(task: Task, sources: Sequence[TaskStateSource] = ()) -> SensedScene | None:
    """Check ``sources`` against what ``task`` reads and hand the task a SensedScene over them (None
    when it reads nothing, as Reach). Raises MissingTaskState, naming what is missing, before any arm
    is touched: a body no source gives, or observation entries from bodies the task does not name."""
    name = task_name_of(type(task))
    if task.obs_dim and not task.state_bodies:
        raise MissingTaskState(
            f"task {name!r} needs task state ({task.obs_dim} undeclared observation entries: its "
            "state_bodies names none) and no task-state source can give it; refusing to deploy"
        )
    if not task.state_bodies:
        return None
    scene = SensedScene(name, tuple(task.state_bodies), sources)
    task.read_scene_from(scene)
    return scene
