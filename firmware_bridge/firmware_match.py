"""Does a firmware (its HELLO reply, INFO) match the host's RobotSpec and calibration file? Each function
returns the differences as one-line strings (empty: it matches); HardwareArm refuses or records them."""

from __future__ import annotations

from pathlib import Path

from robokit.firmware_bridge import protocol as pr
from robokit.firmware_bridge.fixedpoint import (
    ANGLE_UNIT_RAD,
    max_speed_from_step,
    max_step_from_speed,
    rad_to_100urad,
)
from robokit.robots import RobotSpec


def firmware_differences(info: pr.Info, spec: RobotSpec) -> list[str]:
    """Protocol version, joint count, per-joint limits (rad) and max speeds (rad/s) against ``spec``."""
    problems = []
    if info.protocol_version != pr.PROTOCOL_VERSION:
        problems.append(f"protocol version {info.protocol_version}, host speaks {pr.PROTOCOL_VERSION}")
    if info.n_joints != spec.n_joints:
        problems.append(f"{info.n_joints} joints, {spec.name} has {spec.n_joints}")
        return problems
    lo, hi = rad_to_100urad(spec.lower), rad_to_100urad(spec.upper)
    for i, (j, name) in enumerate(zip(info.joints, spec.joint_names)):
        if abs(j.lower_100urad - lo[i]) > 1 or abs(j.upper_100urad - hi[i]) > 1:
            problems.append(
                f"{name}: limits [{j.lower_100urad * ANGLE_UNIT_RAD:.4f}, {j.upper_100urad * ANGLE_UNIT_RAD:.4f}] rad, "
                f"spec [{spec.lower[i]:.4f}, {spec.upper[i]:.4f}]"
            )
        want = max_step_from_speed(spec.max_speed[i])
        if abs(j.max_step_100urad - want) > 1:
            problems.append(
                f"{name}: max speed {max_speed_from_step(j.max_step_100urad):.3f} rad/s, "
                f"spec {spec.max_speed[i]:.3f}"
            )
    return problems


def calibration_differences(
    info: pr.Info, want: dict[str, tuple[int, int]], path: Path, spec: RobotSpec
) -> list[str]:
    """Differences between a calibration file's values (``load_calibration``) and the firmware's."""
    out = []
    for name, fw in zip(spec.joint_names, info.joints):
        zero, gain = want[name]
        if zero != fw.pulse_zero_ticks or gain != fw.gain_q16:
            out.append(
                f"{name}: firmware calibration (zero {fw.pulse_zero_ticks}, gain {fw.gain_q16}) differs from "
                f"{path.name} (zero {zero}, gain {gain})"
            )
    return out
