"""Task: what the arm should do (goal, reward, success), separate from the robot (panda-gym's split).

A task owns its scene: the robot's static boxes (its table) and its own bodies (objects, goal markers),
all by name in the sim wrapper, whose poses and velocities it reads by those names. It alone gives the
achieved goal and decides success; the env asks it for both.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from robokit.core.arm import ArmState
from robokit.core.kinematics import Kinematics
from robokit.envs.bullet import Bullet
from robokit.robots import RobotSpec, SceneBox

DEFAULT_THRESHOLD_M = 0.05  # success distance of a task whose robot gives none (panda-gym's)


class SceneReader(Protocol):
    """Where a task reads its bodies by name: the simulator (``Bullet``) or, on a real arm, the deploy
    runtime's view of its task-state sources (``robokit.runtime.task_state.SensedScene``)."""

    def position(self, body: str) -> np.ndarray: ...

    def orientation(self, body: str) -> np.ndarray: ...

    def velocity(self, body: str) -> np.ndarray: ...

    def angular_velocity(self, body: str) -> np.ndarray: ...


class Task(ABC):
    """A goal-conditioned task. Goals and achieved goals are (goal_dim,) float32 in the base frame (m)."""

    goal_dim: int = 3
    gripper_actuated: bool = False
    obs_dim: int = 0  # entries ``observation()`` appends to the observation (e.g. an object's position)
    # the scene bodies ``observation()`` and ``achieved_goal()`` read by name: in sim the simulator gives
    # them; on a real arm a task-state source must (a deploy without one is refused). Reach: none.
    state_bodies: tuple[str, ...] = ()
    max_episode_steps: int = 50  # the env id's time limit: 2 s at 25 Hz, as panda-gym
    # settings a robot may give in its robot.yaml (``tasks.<task>``), with the values used when it does not
    default_settings: Mapping[str, Any] = {}

    def __init__(
        self,
        spec: RobotSpec,
        kinematics: Kinematics,
        reward_type: str = "sparse",
        distance_threshold_m: float | None = None,
        settings: Mapping[str, Any] | None = None,
    ):
        """``settings``: the robot's for this task (robot.yaml ``tasks.<task>``), merged into
        ``default_settings`` (``self.settings``; ValueError for an unknown key). The success distance:
        ``distance_threshold_m``, else the settings', else DEFAULT_THRESHOLD_M."""
        if reward_type not in ("sparse", "dense"):
            raise ValueError(f"reward_type must be 'sparse' or 'dense', not {reward_type!r}")
        self.settings = self.robot_settings(settings)
        if distance_threshold_m is None:
            distance_threshold_m = self.settings.get("distance_threshold_m", DEFAULT_THRESHOLD_M)
        self.spec, self.kin = spec, kinematics
        self.reward_type = reward_type
        self.distance_threshold_m = distance_threshold_m
        self.goal = np.zeros(self.goal_dim, dtype=np.float32)
        self.bullet: Bullet | None = None
        self.scene: SceneReader | None = None  # where position(name) & co. read: the sim, or sensors
        self.bodies: list[str] = []  # names of the scene bodies this task owns, in the order added

    @classmethod
    def robot_settings(cls, settings: Mapping[str, Any] | None) -> dict[str, Any]:
        """``default_settings`` updated with a robot's ``settings``; ValueError names an unknown key."""
        known = sorted(cls.default_settings)
        unknown = sorted(set(settings or {}) - set(known))
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown robot setting(s) {unknown}; known: {known}")
        return {**cls.default_settings, **(settings or {})}

    def setup_scene(self, bullet: Bullet, boxes: Sequence[SceneBox] = (), visuals: bool = True) -> None:
        """Build the scene once (before it is saved): the robot's static ``boxes`` (its table), then the
        task's own bodies (``add_bodies``)."""
        self.bullet = self.scene = bullet
        for box in boxes:
            bullet.add_box(box.half_extents_m, box.position_m, box.rgba, name=box.name)
            self.own(box.name)
        self.add_bodies(bullet, visuals)

    def add_bodies(self, bullet: Bullet, visuals: bool) -> None:
        """Add the task's bodies, each by name (``bullet.add_box(..., name=n)`` then ``self.own(n)``).
        ``visuals``: also visual-only bodies such as goal markers (the env skips them when it never
        renders: every body costs stepSimulation time)."""

    def read_scene_from(self, scene: SceneReader) -> None:
        """Read the bodies (``position(name)`` & co.) from ``scene`` instead of a simulated one: on a real
        arm the deploy runtime passes its view of the task-state sources (no scene is built then)."""
        self.scene = scene

    def own(self, name: str) -> None:
        """Record the scene body called ``name`` as this task's."""
        self.bodies.append(name)

    def position(self, name: str) -> np.ndarray:
        """Position (3,) m, base frame, of the task's body ``name``."""
        return self._sim().position(name)

    def orientation(self, name: str) -> np.ndarray:
        """Orientation (4,) quaternion xyzw of the task's body ``name``."""
        return self._sim().orientation(name)

    def velocity(self, name: str) -> np.ndarray:
        """Linear velocity (3,) m/s of the task's body ``name``."""
        return self._sim().velocity(name)

    def angular_velocity(self, name: str) -> np.ndarray:
        """Angular velocity (3,) rad/s of the task's body ``name``."""
        return self._sim().angular_velocity(name)

    def _sim(self) -> SceneReader:
        if self.scene is None:
            raise RuntimeError(f"{type(self).__name__} has no scene yet: call setup_scene first")
        return self.scene

    @abstractmethod
    def reset(self, np_random: np.random.Generator) -> np.ndarray:
        """Sample and return a new goal (goal_dim,)."""

    def start_q(self, np_random: np.random.Generator) -> np.ndarray | None:
        """The arm's start pose (n_joints,) rad for this episode, drawn after the goal; None: home."""
        return None

    def check_goal(self, goal: Any) -> tuple[np.ndarray, list[str]]:
        """A goal given from outside (``reset(options={"goal": ...})``) as (goal_dim,) float32, plus
        warnings. Raises ValueError unless it is goal_dim finite numbers; tasks add their own limits."""
        try:
            g = np.asarray(goal, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"goal must be {self.goal_dim} numbers (m), not {goal!r}") from None
        if g.shape != (self.goal_dim,):
            raise ValueError(f"goal must have shape ({self.goal_dim},), not {g.shape}: {goal!r}")
        with np.errstate(over="ignore"):
            g32 = g.astype(np.float32)
        if not np.all(np.isfinite(g32)):
            raise ValueError(f"goal must be finite numbers (m), not {g.tolist()}")
        return g32, []

    def set_goal(self, goal: np.ndarray) -> None:
        """Use ``goal`` (goal_dim,) as the episode's goal; it has passed ``check_goal``."""
        self.goal = np.asarray(goal, dtype=np.float32).copy()

    @abstractmethod
    def achieved_goal(self, state: ArmState) -> np.ndarray:
        """What has been achieved so far (goal_dim,) float32, m: Reach's end effector (from the arm's
        ``state``); a task with objects reads their poses from the scene instead."""

    def observation(self) -> np.ndarray:
        """The task's own observation entries (obs_dim,) float32, e.g. an object's position (m)."""
        return np.zeros(0, dtype=np.float32)

    def observe(self, state: ArmState) -> tuple[np.ndarray | None, np.ndarray]:
        """``(observation() or None when obs_dim is 0, achieved_goal(state))``: what the env's observation
        needs of the task each step. A task may read its scene once for both (ObjectTask does)."""
        return (self.observation() if self.obs_dim else None), self.achieved_goal(state)

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Euclidean distance over the last axis: (..., d), (..., d) -> (...)."""
        return np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), axis=-1)

    @staticmethod
    def goal_distance_m(achieved: np.ndarray, desired: np.ndarray) -> float:
        """Distance (m) between one achieved (goal_dim,) and one desired goal, in float64."""
        return math.dist(achieved.tolist(), desired.tolist())

    def is_success(self, achieved: np.ndarray, desired: np.ndarray) -> bool | np.ndarray:
        """Within the distance threshold: a bool for one pair (goal_dim,), bools (...,) for batches."""
        if np.ndim(achieved) == 1 and np.ndim(desired) == 1:
            return self.goal_distance_m(achieved, desired) < self.distance_threshold_m
        return self.distance(achieved, desired) < self.distance_threshold_m

    def outcome(self, achieved: np.ndarray, desired: np.ndarray) -> tuple[bool, float]:
        """(is_success, distance in m) of one step's achieved and desired goals (goal_dim,): the distance
        is computed once, and ``is_success`` (a task's own included) decides success."""
        d = self.goal_distance_m(achieved, desired)
        if type(self).is_success is Task.is_success:  # the threshold alone: no second distance
            return d < self.distance_threshold_m, d
        return bool(self.is_success(achieved, desired)), d

    def step_reward(self, success: bool, distance_m: float) -> np.float32:
        """One step's reward: sparse -1 until success, then 0; dense minus the distance (m)."""
        if self.reward_type == "sparse":
            return np.float32(0.0 if success else -1.0)
        return np.float32(-distance_m)

    def compute_reward(self, achieved: np.ndarray, desired: np.ndarray, info: Any = None) -> np.ndarray:
        """Vectorised reward: (..., d), (..., d) -> (...,) float32, as ``step_reward`` for each pair
        (sparse: from ``is_success``, so a task's own success rule also decides its reward)."""
        if self.reward_type == "sparse":
            return np.asarray(self.is_success(achieved, desired), dtype=np.float32) - np.float32(1.0)
        return -self.distance(achieved, desired).astype(np.float32)
