"""Shared helpers for the host-bridge tests (real emulator, real pty, real pyserial)."""

from __future__ import annotations

import numpy as np
import pytest

from robokit.firmware_bridge.emulator import Emulator, PulseFrame, missing_tools
from robokit.firmware_bridge.fixedpoint import TICK_US
from robokit.firmware_bridge.protocol import Info

needs_emulator = pytest.mark.skipif(
    missing_tools() is not None, reason=f"emulator toolchain: {missing_tools()}"
)


def pulse_angles(pf: PulseFrame, info: Info) -> np.ndarray:
    """Joint angles (rad) from measured pulse widths, through the firmware's calibration: the ground
    truth of what the servos are told, independent of what STATE reports."""
    out = []
    for w_us, j in zip(pf.widths_us, info.joints):
        us_per_rad = j.gain_q16 / 65536 * TICK_US / 1e-4
        out.append((w_us - j.pulse_zero_ticks * TICK_US) / us_per_rad)
    return np.asarray(out)


__all__ = ["Emulator", "needs_emulator", "pulse_angles"]


class _GreedyReach:
    """A test policy: step the end effector straight at the goal (ee_delta), optionally NaN at a tick."""

    def __init__(self, robot: str, nan_at_tick: int | None) -> None:
        from robokit.robots import get_robot
        from robokit.safety import SafetySettings

        spec = get_robot("servo_arm")
        self.spec = {
            "robot": robot,
            "control_mode": "ee_delta",
            "control_hz": 25.0,
            "action_dim": 3,
            "safety": SafetySettings.from_spec(spec).to_dict(),
        }
        self.scale = spec.ee_delta_scale_m
        self.nan_at_tick, self.tick = nan_at_tick, 0

    def act(self, obs: dict) -> np.ndarray:
        self.tick += 1
        if self.nan_at_tick is not None and self.tick > self.nan_at_tick:
            return np.full(3, np.nan)
        return np.clip((obs["desired_goal"] - obs["achieved_goal"]) / self.scale, -1, 1)


def test_policy(robot: str = "servo_arm", nan_at_tick: int | None = None) -> _GreedyReach:
    return _GreedyReach(robot, nan_at_tick)


test_policy.__test__ = False  # a helper, not a pytest test
