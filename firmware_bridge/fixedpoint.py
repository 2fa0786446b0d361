"""Fixed-point units of the firmware (docs/protocol.md, "Units") and their exact Python twins.

Angles: int, 1e-4 rad. Max speed: int, 1e-4 rad per 20 ms frame. Pulses: int, 0.5 us ticks.
Gain: int, Q16.16 ticks per 1e-4 rad. ``servo_step_fixed`` and ``pulse_ticks`` reproduce the
firmware bit for bit, so a test can predict every STATE and every measured pulse. Every conversion
between these units and SI units is here, once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from robokit.core.robot_spec import RobotSpec
from robokit.core.units import SERVO_FRAME_S

from .protocol import DEFAULT_WATCHDOG_TIMEOUT_MS as DEFAULT_WATCHDOG_TIMEOUT_MS  # with the other defaults
from .protocol import WATCHDOG_HOLD, JointConfig

ANGLE_UNIT_RAD = 1e-4
TICK_US = 0.5
Q16_ONE = 1 << 16  # 1.0 in Q16.16
PULSE_MIN_TICKS = 1000  # 500 us
PULSE_MAX_TICKS = 5000  # 2500 us
DEFAULT_PULSE_ZERO_US = 1500.0
DEFAULT_US_PER_RAD = 2000.0 / math.pi
DEFAULT_WATCHDOG_ACTION = WATCHDOG_HOLD
FIRMWARE_VERSION = (1, 0, 0)


def rad_to_100urad(q_rad: Sequence[float] | np.ndarray) -> tuple[int, ...]:
    """Joint angles (n,) in rad -> wire ints in 1e-4 rad (round to nearest)."""
    return tuple(int(round(float(q) / ANGLE_UNIT_RAD)) for q in np.asarray(q_rad, dtype=np.float64))


def from_100urad(q_100urad: Sequence[int]) -> np.ndarray:
    """Wire ints in 1e-4 rad (n,) -> float64 rad (n,)."""
    return np.asarray(q_100urad, dtype=np.float64) * ANGLE_UNIT_RAD


def max_step_from_speed(max_speed_rad_s: float) -> int:
    """Max speed in rad/s -> max step per 20 ms frame in 1e-4 rad."""
    return int(round(max_speed_rad_s * SERVO_FRAME_S / ANGLE_UNIT_RAD))


def max_speed_from_step(max_step_100urad: int) -> float:
    """Max step per 20 ms frame in 1e-4 rad -> max speed in rad/s."""
    return max_step_100urad * ANGLE_UNIT_RAD / SERVO_FRAME_S


def gain_q16(us_per_rad: float) -> int:
    """Calibration slope in us per rad -> Q16.16 ticks (0.5 us) per 1e-4 rad."""
    return int(round(us_per_rad / TICK_US * ANGLE_UNIT_RAD * Q16_ONE))


def gain_to_us_per_rad(gain_q16: int) -> float:
    """Firmware gain (Q16.16 ticks per 1e-4 rad) -> calibration slope in us per rad."""
    return gain_q16 / Q16_ONE * TICK_US / ANGLE_UNIT_RAD


def pulse_to_rad(width_us: float, joint: JointConfig) -> float:
    """The joint angle (rad) a pulse of ``width_us`` stands for under ``joint``'s calibration (the
    inverse of ``pulse_us``, unrounded and unclamped)."""
    return (width_us - joint.pulse_zero_ticks * TICK_US) / gain_to_us_per_rad(joint.gain_q16)


def servo_step_fixed(
    setpoint: Sequence[int], target: Sequence[int], max_step: Sequence[int]
) -> tuple[int, ...]:
    """One 20 ms servo frame in fixed point, exactly as the firmware (and robokit.core.servo) does it."""
    return tuple(s + max(-m, min(m, t - s)) for s, t, m in zip(setpoint, target, max_step))


def pulse_ticks(q_100urad: int, joint: JointConfig) -> int:
    """Pulse width in 0.5 us ticks the firmware emits for setpoint ``q_100urad``."""
    ticks = joint.pulse_zero_ticks + ((q_100urad * joint.gain_q16 + Q16_ONE // 2) >> 16)
    return max(PULSE_MIN_TICKS, min(PULSE_MAX_TICKS, ticks))


def pulse_us(q_100urad: int, joint: JointConfig) -> float:
    """Pulse width in us for setpoint ``q_100urad``."""
    return pulse_ticks(q_100urad, joint) * TICK_US


def default_joint_configs(
    spec: RobotSpec, signs: Sequence[int] | None = None, pulse_zero_us: float = DEFAULT_PULSE_ZERO_US
) -> tuple[JointConfig, ...]:
    """The compiled-in defaults for ``spec``: limits, home, speeds, 1500 us at 0 rad, 2000/pi us/rad."""
    signs = signs or (1,) * spec.n_joints
    lower, upper, home = rad_to_100urad(spec.lower), rad_to_100urad(spec.upper), rad_to_100urad(spec.home_q)
    return tuple(
        JointConfig(
            lower_100urad=lower[i],
            upper_100urad=upper[i],
            home_100urad=home[i],
            max_step_100urad=max_step_from_speed(spec.max_speed[i]),
            pulse_zero_ticks=int(round(pulse_zero_us / TICK_US)),
            gain_q16=signs[i] * gain_q16(DEFAULT_US_PER_RAD),
        )
        for i in range(spec.n_joints)
    )
