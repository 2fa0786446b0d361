"""Units and hardware constants shared by the simulator and every real arm, each defined once.

Angles are in rad, positions in m, times in s unless a name says otherwise (``_us``, ``_ms``). The
fixed-point units of the robokit firmware (1e-4 rad, 0.5 us ticks, Q16.16 gains) and its link rate
belong to that firmware and live in its driver: ``robokit.firmware_bridge.fixedpoint`` and
``robokit.firmware_bridge.link``.
"""

from __future__ import annotations

SERVO_FRAME_S = 0.02  # s, one 50 Hz hobby-servo PWM period: the servo model's step (robokit.core.servo)
SERVO_FRAME_US = round(SERVO_FRAME_S * 1_000_000)  # 20000: the firmware's FRAME_PERIOD_MS * 1000

__all__ = ["SERVO_FRAME_S", "SERVO_FRAME_US"]
