"""RobotSpec: everything sim and hardware must agree on about an arm.

Joint order is the hardware's. Angles in rad (revolute) or m (prismatic), speeds in rad/s (or m/s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent


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
        if goal.shape != (3,) or not np.all(np.isfinite(goal)):
            raise GoalOutsideWorkspace(f"goal {text} is not three finite numbers; {where}")
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


def _servo_arm() -> RobotSpec:
    half = math.pi / 2
    return RobotSpec(
        name="servo_arm",
        urdf=str(_HERE / "servo_arm" / "servo_arm.urdf"),
        joint_names=("base_yaw", "shoulder", "elbow", "wrist_pitch", "wrist_roll", "gripper"),
        lower=(-half, -half, -half, -half, -half, 0.0),
        upper=(half, half, half, half, half, 1.0),
        home_q=(0.0, 0.0, 1.4, 0.9, 0.0, 0.0),
        max_speed=(3.0,) * 6,
        # sized so the sim's motors follow the servo model's instant full-speed starts and reversals
        # within 1.3 deg (worst over 150 random ee_delta rollouts; half these values lagged up to 4.9 deg)
        joint_force=(8.0, 12.0, 10.0, 6.0, 4.0, 4.0),
        ee_link="ee_link",
        gripper=GripperSpec(joint_names=("gripper",), open_q=(1.0,), closed_q=(0.0,)),
        servo_driven=True,
        control_hz=25.0,
        sim_timestep_s=0.004,
        sim_substeps=10,
        max_target_step=0.25,
        floor_z_m=0.01,
        ee_delta_scale_m=0.025,
        joint_delta_scale=0.1,
        # measured by FK over 30000 random joint vectors within the limits (tests/robokit/robots/test_spec.py
        # checks it): tip 0.122-0.350 m from the shoulder joint; Reach's goals lie in the box
        workspace=Workspace(
            shoulder_m=(0.0, 0.0, 0.09),
            min_reach_m=0.12,
            reach_m=0.35,
            goal_box_m=((0.05, -0.27, 0.03), (0.33, 0.27, 0.43)),
        ),
        description="robokit's 6-servo hobby arm (SO-100 class, 180-degree PWM servos, ~0.35 m reach)",
    )


def _panda() -> RobotSpec:
    import pybullet_data

    lower = (-2.9671, -1.8326, -2.9671, -3.1416, -2.9671, -0.0873, -2.9671, 0.0, 0.0)
    upper = (2.9671, 1.8326, 2.9671, 0.0, 2.9671, 3.8223, 2.9671, 0.04, 0.04)
    return RobotSpec(
        name="panda",
        urdf=str(Path(pybullet_data.getDataPath()) / "franka_panda" / "panda.urdf"),
        joint_names=tuple(f"panda_joint{i}" for i in range(1, 8))
        + ("panda_finger_joint1", "panda_finger_joint2"),
        lower=lower,
        upper=upper,
        home_q=(0.0, 0.41, 0.0, -1.85, 0.0, 2.26, 0.79, 0.0, 0.0),  # panda-gym's neutral pose
        max_speed=(2.175,) * 4 + (2.61,) * 3 + (0.2, 0.2),
        joint_force=(87.0, 87.0, 87.0, 87.0, 12.0, 120.0, 120.0, 170.0, 170.0),  # as panda-gym
        ee_link="panda_grasptarget",
        gripper=GripperSpec(
            joint_names=("panda_finger_joint1", "panda_finger_joint2"),
            open_q=(0.04, 0.04),
            closed_q=(0.0, 0.0),
        ),
        servo_driven=False,
        control_hz=25.0,
        sim_timestep_s=1.0 / 500.0,
        sim_substeps=20,
        max_target_step=0.5,
        floor_z_m=0.0,
        ee_delta_scale_m=0.05,
        joint_delta_scale=0.05,
        # shoulder = panda_joint2's axis; tip (panda_grasptarget) at most 0.95 m from it (FK over the
        # limits); goals as panda-gym PandaReach-v3, in the Panda's base frame
        workspace=Workspace(
            shoulder_m=(0.0, 0.0, 0.333),
            min_reach_m=0.0,
            reach_m=0.95,
            goal_box_m=((0.45, -0.15, 0.0), (0.75, 0.15, 0.3)),
        ),
        description="Franka Emika Panda (pybullet_data URDF), as in panda-gym",
    )


_ROBOTS = {"servo_arm": _servo_arm, "panda": _panda}
_CACHE: dict[str, RobotSpec] = {}


def list_robots() -> list[str]:
    return sorted(_ROBOTS)


def get_robot(name: str) -> RobotSpec:
    """The RobotSpec called ``name`` (``servo_arm`` or ``panda``)."""
    if name not in _ROBOTS:
        raise KeyError(f"unknown robot {name!r}; known robots: {', '.join(list_robots())}")
    if name not in _CACHE:
        _CACHE[name] = _ROBOTS[name]()
    return _CACHE[name]
