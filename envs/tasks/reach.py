"""Reach: move the end effector to a goal position in the base frame (m)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from robokit.core.arm import ArmState
from robokit.core.kinematics import Kinematics
from robokit.envs.bullet import Bullet
from robokit.envs.tasks.base import Task
from robokit.robots import RobotSpec


def _goal_box(box: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """A goal box setting [[x, y, z], [x, y, z]] (low <= high, m) as two (3,) arrays; ValueError if bad."""
    if box is None:
        return None
    try:
        lo, hi = (np.asarray(c, dtype=np.float64) for c in box)
    except (TypeError, ValueError):
        raise ValueError(f"Reach: goal_box_m must be [low corner, high corner], not {box!r}") from None
    if lo.shape != (3,) or hi.shape != (3,) or not np.all(np.isfinite([lo, hi])) or np.any(lo > hi):
        raise ValueError(f"Reach: goal_box_m must be two corners of 3 finite numbers, low <= high: {box!r}")
    return lo, hi


def _check_range(name: str, value: Any, low: float, high: float, low_open: bool = True) -> None:
    """ValueError unless ``value`` is a finite number in (low, high] (or [low, high] with low_open=False)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (value > low if low_open else value >= low) or value > high:
        span = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"Reach: {name} must be a number in {span}, not {value!r}")


class Reach(Task):
    """Goals: inside the robot's goal box where its settings give one; otherwise the end effector
    at random joint angles (within ``joint_fraction`` of each arm joint's range around home), kept in
    front of the base (x > 0), above ``min_goal_z_m`` and at least ``min_radius_m`` from the base axis,
    so every goal is reachable.

    Robot settings (robot.yaml ``tasks.reach``): ``distance_threshold_m`` (success, m), ``marker_radius_m``
    (the goal marker; None: half the threshold), ``goal_box_m`` ([low corner, high corner] in the base
    frame, m; None: sample in joint space), ``start_noise_rad`` (each episode starts with every arm joint
    up to this far from home, uniform, the tip above the goal box's floor; 0: at home). A deploy reaches
    goal after goal from wherever the last one left the arm, so a policy that only ever started at home
    meets poses it never saw (the SO-101's: 7 of 10 chained goals missed by 8-17 cm, every episode from
    home 96% in sim)."""

    default_settings = {
        "distance_threshold_m": 0.02,
        "marker_radius_m": None,
        "goal_box_m": None,
        "start_noise_rad": 0.0,
    }

    @classmethod
    def robot_settings(cls, settings: Mapping[str, Any] | None) -> dict[str, Any]:
        """The base class's merge, each setting checked (ValueError naming it): the threshold and marker
        radius in (0, 1] m, the goal box two corners of 3 finite numbers."""
        merged = super().robot_settings(settings)
        _check_range("distance_threshold_m", merged["distance_threshold_m"], 0.0, 1.0)
        if merged["marker_radius_m"] is not None:
            _check_range("marker_radius_m", merged["marker_radius_m"], 0.0, 1.0)
        _goal_box(merged["goal_box_m"])
        _check_range("start_noise_rad", merged["start_noise_rad"], 0.0, math.pi, low_open=False)
        return merged

    def __init__(
        self,
        spec: RobotSpec,
        kinematics: Kinematics,
        reward_type: str = "sparse",
        distance_threshold_m: float | None = None,
        joint_fraction: float = 0.6,
        min_goal_z_m: float = 0.03,
        min_radius_m: float = 0.10,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        settings = self.robot_settings(settings)
        if distance_threshold_m is None:
            distance_threshold_m = settings["distance_threshold_m"]
        _check_range("distance_threshold_m", distance_threshold_m, 0.0, 1.0)
        _check_range("joint_fraction", joint_fraction, 0.0, 1.0)
        _check_range("min_goal_z_m", min_goal_z_m, -10.0, 10.0, low_open=False)
        _check_range("min_radius_m", min_radius_m, 0.0, 10.0, low_open=False)
        super().__init__(spec, kinematics, reward_type, distance_threshold_m, settings)
        self.joint_fraction, self.min_goal_z_m, self.min_radius_m = joint_fraction, min_goal_z_m, min_radius_m
        self.goal_box_m = _goal_box(settings["goal_box_m"])  # checked by robot_settings; converted here
        self.marker_radius_m = settings["marker_radius_m"] or distance_threshold_m / 2
        self.start_noise_rad = float(settings["start_noise_rad"])
        self.marker: int | None = None

    def add_bodies(self, bullet: Bullet, visuals: bool) -> None:
        if visuals:
            self.marker = bullet.add_marker(self.marker_radius_m, name="goal_marker")
            self.own("goal_marker")

    def reset(self, np_random: np.random.Generator) -> np.ndarray:
        if self.goal_box_m is not None:
            goal = np_random.uniform(*self.goal_box_m)
        else:
            goal = self._sample_reachable(np_random)
        self.set_goal(goal)
        return self.goal.copy()

    def start_q(self, np_random: np.random.Generator) -> np.ndarray | None:
        """The episode's start pose (n_joints,) rad, or None for home (``start_noise_rad`` 0: nothing is
        drawn, so the random stream is as before). The tip stays at least ``min_goal_z_m`` up."""
        if self.start_noise_rad <= 0.0:
            return None
        lo, hi = self.spec.arrays()
        home = np.asarray(self.spec.home_q, dtype=np.float64)
        arm = np.asarray(self.spec.arm_indices)
        floor = self.goal_box_m[0][2] if self.goal_box_m is not None else self.min_goal_z_m
        for _ in range(100):
            q = home.copy()
            q[arm] = np.clip(
                home[arm] + np_random.uniform(-1, 1, arm.size) * self.start_noise_rad, lo[arm], hi[arm]
            )
            if self.kin.fk(q)[2] >= floor:
                return q
        return None

    def check_goal(self, goal: Any) -> tuple[np.ndarray, list[str]]:
        """Also refuses a goal the robot cannot reach (its RobotSpec's workspace: reach shell from the
        shoulder, floor); warns for one outside the region training samples goals from."""
        g, notes = super().check_goal(goal)
        return g, notes + self.spec.check_goal(g.astype(np.float64))

    def set_goal(self, goal: np.ndarray) -> None:
        super().set_goal(goal)
        if self.bullet is not None and self.marker is not None:
            self.bullet.move(self.marker, self.goal.tolist())

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

    def achieved_goal(self, state: ArmState) -> np.ndarray:
        """The end effector (3,) float32, m: the forward kinematics of the arm's reported q."""
        return np.asarray(self.kin.fk(state.q), dtype=np.float32)
