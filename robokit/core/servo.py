"""The servo motion model, one definition for the simulator and the firmware.

Every servo frame (20 ms, the 50 Hz PWM period) each joint's setpoint moves toward its target by at
most ``max_speed * SERVO_FRAME_S`` and then stops exactly on it. The firmware runs this at each PWM
frame; SimArm runs it every 20 ms of simulated time.
"""

from __future__ import annotations

import numpy as np

from robokit.core.units import SERVO_FRAME_S


def servo_step(setpoint: np.ndarray, target: np.ndarray, max_speed: np.ndarray) -> np.ndarray:
    """One servo frame: setpoint (n,) moved toward target (n,) by at most max_speed (n,) * 20 ms."""
    max_delta = np.asarray(max_speed, dtype=np.float64) * SERVO_FRAME_S
    delta = target - setpoint
    # within reach: land bit-exactly on the target (setpoint + delta can differ from it by rounding)
    return np.where(np.abs(delta) <= max_delta, target, setpoint + np.clip(delta, -max_delta, max_delta))


def servo_step_floats(setpoint: list[float], target: list[float], max_delta: list[float]) -> list[float]:
    """``servo_step`` in Python floats for the simulator's hot path (numpy's per-call cost exceeds the
    arithmetic at six joints): the same IEEE operations per joint, so the same bits. ``max_delta`` (n,) is
    ``max_speed * SERVO_FRAME_S``, rad per frame."""
    return [
        t if abs(t - s) <= m else s + min(max(t - s, -m), m) for s, t, m in zip(setpoint, target, max_delta)
    ]


def servo_trajectory(start: np.ndarray, targets: np.ndarray, max_speed: np.ndarray) -> np.ndarray:
    """Setpoints after each frame for a per-frame target sequence: targets (T, n) -> (T, n)."""
    out = np.empty_like(np.asarray(targets, dtype=np.float64))
    sp = np.asarray(start, dtype=np.float64).copy()
    for t, tgt in enumerate(targets):
        sp = servo_step(sp, tgt, max_speed)
        out[t] = sp
    return out
