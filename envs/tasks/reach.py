"""Reach: move the end effector to a goal position in the base frame (m)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from robokit.core.kinematics import Kinematics
from robokit.envs.bullet import Bullet
from robokit.envs.tasks.base import Task
from robokit.robots import RobotSpec

# Per robot: success threshold (m), goal marker radius (m) and, where a benchmark fixes one, the goal box
# in the base frame (m). The Panda's is panda-gym PandaReach-v3's, moved into the Panda's base frame (its
# world origin is 0.6 m ahead). Other robots sample goals in joint space (always reachable).
REACH_SETTINGS: dict[str, dict] = {
    "panda": {
        "distance_threshold_m": 0.05,
        "marker_radius_m": 0.02,
        "goal_box_m": ((0.45, -0.15, 0.0), (0.75, 0.15, 0.3)),
    },
}
DEFAULT_SETTINGS = {
    "distance_threshold_m": 0.02,
    "marker_radius_m": None,  # None: half the success threshold
    "goal_box_m": None,  # None: sample in joint space
}


def _check_range(name: str, value: Any, low: float, high: float, low_open: bool = True) -> None:
    """ValueError unless ``value`` is a finite number in (low, high] (or [low, high] with low_open=False)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (value > low if low_open else value >= low) or value > high:
        span = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"Reach: {name} must be a number in {span}, not {value!r}")


class Reach(Task):
    """Goals: inside the robot's goal box where ``REACH_SETTINGS`` gives one; otherwise the end effector
    at random joint angles (within ``joint_fraction`` of each arm joint's range around home), kept in
    front of the base (x > 0), above ``min_goal_z_m`` and at least ``min_radius_m`` from the base axis,
    so every goal is reachable."""

    def __init__(
        self,
        spec: RobotSpec,
        kinematics: Kinematics,
        reward_type: str = "sparse",
        distance_threshold_m: float | None = None,
        joint_fraction: float = 0.6,
        min_goal_z_m: float = 0.03,
        min_radius_m: float = 0.10,
    ) -> None:
        settings = {**DEFAULT_SETTINGS, **REACH_SETTINGS.get(spec.name, {})}
        if distance_threshold_m is None:
            distance_threshold_m = settings["distance_threshold_m"]
        _check_range("distance_threshold_m", distance_threshold_m, 0.0, 1.0)
        _check_range("joint_fraction", joint_fraction, 0.0, 1.0)
        _check_range("min_goal_z_m", min_goal_z_m, -10.0, 10.0, low_open=False)
        _check_range("min_radius_m", min_radius_m, 0.0, 10.0, low_open=False)
        super().__init__(spec, kinematics, reward_type, distance_threshold_m)
        self.joint_fraction, self.min_goal_z_m, self.min_radius_m = joint_fraction, min_goal_z_m, min_radius_m
        box = settings["goal_box_m"]
        self.goal_box_m = None if box is None else (np.asarray(box[0]), np.asarray(box[1]))
        self.marker_radius_m = settings["marker_radius_m"] or distance_threshold_m / 2
        self.marker: int | None = None
        self._bullet: Bullet | None = None

    def setup_scene(self, bullet: Bullet, visuals: bool = True) -> None:
        self._bullet = bullet
        if visuals:
            self.marker = bullet.add_marker(self.marker_radius_m)

    def reset(self, np_random: np.random.Generator) -> np.ndarray:
        if self.goal_box_m is not None:
            goal = np_random.uniform(*self.goal_box_m)
        else:
            goal = self._sample_reachable(np_random)
        self.set_goal(goal)
        return self.goal.copy()

    def check_goal(self, goal: Any) -> tuple[np.ndarray, list[str]]:
        """Also refuses a goal the robot cannot reach (its RobotSpec's workspace: reach shell from the
        shoulder, floor); warns for one outside the region training samples goals from."""
        g, notes = super().check_goal(goal)
        return g, notes + self.spec.check_goal(g.astype(np.float64))

    def set_goal(self, goal: np.ndarray) -> None:
        super().set_goal(goal)
        if self._bullet is not None and self.marker is not None:
            self._bullet.move(self.marker, self.goal.tolist())

    def _sample_reachable(self, np_random: np.random.Generator) -> np.ndarray:
        lo, hi = self.spec.arrays()
        home = np.asarray(self.spec.home_q)
        arm = np.asarray(self.spec.arm_indices)
        for _ in range(1000):
            q = home.copy()
            q[arm] = np_random.uniform(lo[arm], hi[arm])
            q[arm] = home[arm] + self.joint_fraction * (q[arm] - home[arm])
            ee = self.kin.fk(q)
            if ee[0] > 0.0 and ee[2] >= self.min_goal_z_m and np.hypot(ee[0], ee[1]) >= self.min_radius_m:
                return ee
        raise RuntimeError("could not sample a reachable goal; check the RobotSpec limits")

    def achieved_goal(self, ee_pos_m: np.ndarray) -> np.ndarray:
        return np.asarray(ee_pos_m, dtype=np.float32)
