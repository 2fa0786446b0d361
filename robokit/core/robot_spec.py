"""RobotSpec: everything sim and hardware must agree on about an arm. The types live in the core (the
Controller, Safety and kinematics take a RobotSpec); each robot's values are in its folder,
``robokit/robots/<name>/robot.yaml``, loaded by ``robokit.robots.registry``, and ``robokit.robots``
re-exports these types.

Joint order is the hardware's. Angles in rad (revolute) or m (prismatic), speeds in rad/s (or m/s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class GripperSpec:
    """Which joints form the gripper and their open/closed positions (joint units)."""

    joint_names: tuple[str, ...]
    open_q: tuple[float, ...]
    closed_q: tuple[float, ...]


@dataclass(frozen=True)
class Workspace:
    """Where the arm's tool centre point can go, in the base frame (m).

    A point is reachable only if its distance from ``shoulder_m`` lies in [min_reach_m, reach_m] and it
    is at or above the robot's ``floor_z_m``. ``goal_box_m`` (low corner, high corner) bounds the goals
    training samples (Reach): a goal outside it is reachable but the policy has not been trained there.
    """

    shoulder_m: tuple[float, float, float]
    min_reach_m: float
    reach_m: float
    goal_box_m: tuple[tuple[float, float, float], tuple[float, float, float]]

    def describe(self, floor_z_m: float) -> str:
        sx, sy, sz = self.shoulder_m
        lo, hi = self.goal_box_m
        box = " .. ".join("(" + ", ".join(f"{v:.2f}" for v in c) + ")" for c in (lo, hi))
        return (
            f"reachable: {self.min_reach_m:.2f}-{self.reach_m:.2f} m from the shoulder at "
            f"({sx:.2f}, {sy:.2f}, {sz:.2f}) m and z >= {floor_z_m:.3f} m; trained goals: box {box} m"
        )


class GoalOutsideWorkspace(ValueError):
    """A goal the arm cannot reach (beyond its reach shell, inside its inner shell, or below the floor)."""


@dataclass(frozen=True)
class RobotSpec:
    """An arm: joints, limits, home pose, speeds, end effector, simulation and safety defaults.

    Tuples are indexed like ``joint_names`` (arm joints first, then gripper joints).
    """

    name: str
    urdf: str
    joint_names: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    home_q: tuple[float, ...]
    max_speed: tuple[float, ...]  # rad/s (m/s for prismatic joints)
    joint_force: tuple[float, ...]  # N*m (N) available to the sim's position motors
    ee_link: str
    gripper: GripperSpec | None
    servo_driven: bool  # True: hobby PWM servos following robokit.core.servo's motion model
    control_hz: float
    sim_timestep_s: float
    sim_substeps: int  # physics steps per control period
    max_target_step: float  # Safety: largest change of a joint target vs the current q per tick
    floor_z_m: float  # Safety: end effector never commanded below this height (base frame)
    ee_delta_scale_m: float  # ee_delta: metres per unit action per tick
    joint_delta_scale: float  # joint_delta: rad (m) per unit action per tick
    workspace: Workspace
    description: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        for name in ("lower", "upper", "home_q", "max_speed", "joint_force"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"RobotSpec {self.name}: {name} has {len(getattr(self, name))} values, want {n}"
                )
        if not Path(self.urdf).is_file():
            raise FileNotFoundError(f"RobotSpec {self.name}: URDF not found at {self.urdf}")
        lo, hi, home = np.array(self.lower), np.array(self.upper), np.array(self.home_q)
        if np.any(lo >= hi) or np.any(home < lo) or np.any(home > hi):
            raise ValueError(f"RobotSpec {self.name}: limits must satisfy lower < upper and contain home_q")

    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    @cached_property
    def gripper_indices(self) -> tuple[int, ...]:
        """Indices (into joint_names) of gripper joints."""
        if self.gripper is None:
            return ()
        return tuple(self.joint_names.index(j) for j in self.gripper.joint_names)

    @cached_property
    def arm_indices(self) -> tuple[int, ...]:
        """Indices (into joint_names) of the non-gripper joints."""
        g = set(self.gripper_indices)
        return tuple(i for i in range(self.n_joints) if i not in g)

    @property
    def control_period_s(self) -> float:
        return 1.0 / self.control_hz

    def check_goal(self, goal_m: np.ndarray | tuple[float, ...]) -> list[str]:
        """Refuse a goal (3,) in m, base frame, that the tool cannot reach; return warnings for one it
        can reach but that lies outside the region training sampled goals from.

        Raises GoalOutsideWorkspace (a ValueError) for a non-finite goal, one outside the reach shell or
        below ``floor_z_m``; its message states the workspace."""
        goal = np.asarray(goal_m, dtype=np.float64)
        ws = self.workspace
        where = f"{self.name} workspace: {ws.describe(self.floor_z_m)}"
        text = "(" + ", ".join(f"{v:.3g}" for v in goal.ravel().tolist()) + ")"
        if goal.shape != (3,):
            raise GoalOutsideWorkspace(
                f"goal {text} has {goal.size} numbers; a goal is x, y, z in m; {where}"
            )
        if not np.all(np.isfinite(goal)):
            raise GoalOutsideWorkspace(f"goal {text} is not finite; {where}")
        with np.errstate(over="ignore"):  # a goal of 1e308 m is far, not an error
            dist = float(np.linalg.norm(goal - np.asarray(ws.shoulder_m)))
        if goal[2] < self.floor_z_m:
            raise GoalOutsideWorkspace(f"goal {text} m is below the floor (z < {self.floor_z_m} m); {where}")
        if dist > ws.reach_m:
            raise GoalOutsideWorkspace(
                f"goal {text} m is {dist:.3f} m from the shoulder, beyond the reach of {ws.reach_m} m; {where}"
            )
        if dist < ws.min_reach_m:
            raise GoalOutsideWorkspace(
                f"goal {text} m is {dist:.3f} m from the shoulder, closer than {ws.min_reach_m} m; {where}"
            )
        lo, hi = (np.asarray(c) for c in ws.goal_box_m)
        if np.any(goal < lo) or np.any(goal > hi):
            return [f"goal {text} m is reachable but outside the region training sampled goals from; {where}"]
        return []

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) joint limits as float64 arrays, shape (n_joints,)."""
        return np.asarray(self.lower, dtype=np.float64), np.asarray(self.upper, dtype=np.float64)
