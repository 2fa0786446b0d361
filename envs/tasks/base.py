"""Task: what the arm should do (goal, reward, success), separate from the robot (panda-gym's split)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from robokit.core.kinematics import Kinematics
from robokit.envs.bullet import Bullet
from robokit.robots import RobotSpec


class Task(ABC):
    """A goal-conditioned task. Goals and achieved goals are (goal_dim,) float32 in the base frame (m)."""

    goal_dim: int = 3
    gripper_actuated: bool = False
    obs_dim: int = 0  # entries ``observation()`` appends to the observation (e.g. an object's position)
    achieved_goal_is_ee: bool = True  # False: the env asks ``achieved_goal`` (e.g. Push: the object)

    def __init__(
        self, spec: RobotSpec, kinematics: Kinematics, reward_type: str, distance_threshold_m: float
    ):
        if reward_type not in ("sparse", "dense"):
            raise ValueError(f"reward_type must be 'sparse' or 'dense', not {reward_type!r}")
        self.spec, self.kin = spec, kinematics
        self.reward_type = reward_type
        self.distance_threshold_m = distance_threshold_m
        self.goal = np.zeros(self.goal_dim, dtype=np.float32)

    def setup_scene(self, bullet: Bullet, visuals: bool = True) -> None:
        """Add the task's bodies to the scene (called once, before the scene is saved). ``visuals``:
        also add visual-only bodies such as goal markers (the env skips them when it never renders:
        every body costs stepSimulation time)."""

    @abstractmethod
    def reset(self, np_random: np.random.Generator) -> np.ndarray:
        """Sample and return a new goal (goal_dim,)."""

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
    def achieved_goal(self, ee_pos_m: np.ndarray) -> np.ndarray:
        """What the arm has achieved so far (goal_dim,), given the end effector (3,) m; a task with
        objects reads their poses from the scene instead."""

    def observation(self) -> np.ndarray:
        """The task's own observation entries (obs_dim,) float32, e.g. an object's position (m)."""
        return np.zeros(0, dtype=np.float32)

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Euclidean distance over the last axis: (..., d), (..., d) -> (...)."""
        return np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), axis=-1)

    def is_success(self, achieved: np.ndarray, desired: np.ndarray) -> np.ndarray:
        """Bool (...,): within the distance threshold."""
        return self.distance(achieved, desired) < self.distance_threshold_m

    def reward_from_distance(self, distance_m: np.ndarray | float) -> np.ndarray:
        """Reward for distances (...,) in m: sparse -1/0 or dense -distance, float32."""
        if isinstance(distance_m, float):  # one env step: skip the array machinery
            if self.reward_type == "sparse":
                return np.float32(-1.0 if distance_m >= self.distance_threshold_m else 0.0)
            return np.float32(-distance_m)
        d = np.asarray(distance_m)
        if self.reward_type == "sparse":
            return -(d >= self.distance_threshold_m).astype(np.float32)
        return -d.astype(np.float32)

    def compute_reward(self, achieved: np.ndarray, desired: np.ndarray, info: Any = None) -> np.ndarray:
        """Vectorised reward: (..., d), (..., d) -> (...,) float32. Sparse: -1 until success, then 0.
        Dense: minus the distance in m."""
        return self.reward_from_distance(self.distance(achieved, desired))
