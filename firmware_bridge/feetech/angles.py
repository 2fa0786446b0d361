"""Encoder counts <-> joint angles on a Feetech bus, in robokit's zero convention (docs/so101.md):
``q = (counts - zero) * 2 pi / 4096 * sign``, ``zero`` 2048 (the middle of the encoder's turn) unless a
calibration says otherwise, ``sign`` -1 for a joint whose drive direction is reversed."""

from __future__ import annotations

from typing import Any

import numpy as np

from robokit.firmware_bridge.feetech.control_table import (
    COUNTS_PER_TURN,
    MIDDLE_COUNTS,
    RAD_PER_COUNT,
    register,
)
from robokit.firmware_bridge.feetech.protocol import sync_write


def counts_to_q(counts: np.ndarray, sign: np.ndarray, zero: Any = MIDDLE_COUNTS) -> np.ndarray:
    """Joint angles (n,) rad from encoder counts (n,) (robokit's zero convention; ``sign`` -1 for a
    reversed joint; ``zero``: the counts at q = 0, per joint or one for all, from a calibration)."""
    return (np.asarray(counts, dtype=np.float64) - zero) * RAD_PER_COUNT * sign


def q_to_counts(q: np.ndarray, sign: np.ndarray, zero: Any = MIDDLE_COUNTS) -> np.ndarray:
    """Goal counts (n,) int in 0..4095 for joint angles ``q`` (n,) rad."""
    counts = np.rint(zero + np.asarray(q, dtype=np.float64) * sign / RAD_PER_COUNT)
    return np.clip(counts, 0, COUNTS_PER_TURN - 1).astype(int)


def goal_packet(settings: Any, q: np.ndarray) -> bytes:
    """The SYNC_WRITE of Goal_Position that sends ``q`` (n,) rad to the servos of a bus section."""
    sign = np.asarray(settings.signs)
    reg = register("Goal_Position")
    goals = q_to_counts(q, sign).tolist()
    return sync_write(reg.address, reg.size, {i: reg.encode(g) for i, g in zip(settings.ids, goals)})
