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
