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
    servo_driven: bool  # True: hobby PWM servos following robokit.servo's motion model
    control_hz: float
    sim_timestep_s: float
    sim_substeps: int  # physics steps per control period
    max_target_step: float  # Safety: largest change of a joint target vs the current q per tick
    floor_z_m: float  # Safety: end effector never commanded below this height (base frame)
    ee_delta_scale_m: float  # ee_delta: metres per unit action per tick
    joint_delta_scale: float  # joint_delta: rad (m) per unit action per tick
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
