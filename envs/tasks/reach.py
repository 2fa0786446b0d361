"""Reach: move the end effector to a goal position in the base frame (m)."""

from __future__ import annotations

import numpy as np

from robokit.envs.bullet import Bullet
from robokit.envs.tasks.base import Task
from robokit.kinematics import Kinematics
from robokit.robots import RobotSpec

# panda-gym PandaReach-v3's goal box, moved into the Panda's base frame (its world origin is 0.6 m ahead).
PANDA_GOAL_LOW = np.array([0.45, -0.15, 0.0])
PANDA_GOAL_HIGH = np.array([0.75, 0.15, 0.3])


class Reach(Task):
    """Goals: for the Panda, panda-gym's box; for other arms, the end effector at random joint angles
    (within ``joint_fraction`` of each arm joint's range around home), kept in front of the base (x > 0),
    above ``min_goal_z_m`` and at least ``min_radius_m`` from the base axis, so every goal is reachable."""

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
        if distance_threshold_m is None:
            distance_threshold_m = 0.05 if spec.name == "panda" else 0.02
        super().__init__(spec, kinematics, reward_type, distance_threshold_m)
        self.joint_fraction, self.min_goal_z_m, self.min_radius_m = joint_fraction, min_goal_z_m, min_radius_m
        self.marker: int | None = None
        self._bullet: Bullet | None = None

    def setup_scene(self, bullet: Bullet, visuals: bool = True) -> None:
        self._bullet = bullet
        if visuals:
            self.marker = bullet.add_marker(
                self.distance_threshold_m / 2 if self.spec.name != "panda" else 0.02
            )

    def reset(self, np_random: np.random.Generator) -> np.ndarray:
        if self.spec.name == "panda":
            goal = np_random.uniform(PANDA_GOAL_LOW, PANDA_GOAL_HIGH)
        else:
            goal = self._sample_reachable(np_random)
        self.goal = goal.astype(np.float32)
        if self._bullet is not None and self.marker is not None:
            self._bullet.move(self.marker, goal.tolist())
        return self.goal.copy()

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
