"""The Arm contract: the only interface a task or a deploy loop talks to.

``SimArm`` (robokit.envs) and ``HardwareArm`` (robokit.firmware_bridge) implement it. Joint values are
in joint units (rad for revolute, m for prismatic) and cover every joint of the RobotSpec, gripper
included, in the spec's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


class ArmError(RuntimeError):
    """Base class for arm failures."""


class ArmDisconnected(ArmError):
    """The link to the arm is gone (port closed, emulator killed, telemetry stopped)."""


@dataclass
class ArmState:
    """One reading of an arm.

    q: (n_joints,) joint positions, joint units. q_is_measured: False where the hardware only reports
    its own estimate (hobby PWM servos report the setpoint). t_s: time.monotonic() seconds for hardware,
    simulated seconds for SimArm. frame: the servo frame counter (firmware's or the sim's), if any.
    """

    q: np.ndarray
    q_is_measured: bool
    t_s: float
    frame: int | None = None
    watchdog_tripped: bool = False
    estop_latched: bool = False
    released: bool = False
    extra: dict = field(default_factory=dict)


@runtime_checkable
class Arm(Protocol):
    """read() -> ArmState, command(q_target), close(); usable as a context manager."""

    def read(self) -> ArmState: ...

    def command(self, q_target: np.ndarray) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Arm: ...

    def __exit__(self, *exc: object) -> None: ...
