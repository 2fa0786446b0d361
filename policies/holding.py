"""Holding: how still an arm stands at its goal once it has reached it.

Pure numpy, no torch, no simulator: evaluation (sim) and deploy (hardware) call the same function on
the end-effector positions and joint positions they recorded, one sample per control tick.

The window: ``holding_after_success`` starts it ``HOLD_SETTLE_S`` after the first success. At the first
success the tip is only just inside the success radius (2 cm on ServoArmReach, 5 cm on PandaReach), and
a policy that goes on to the goal's centre travels up to that far more: measured from the first success
itself, even the scripted IK policy, which then stands still to 0.001 cm/s, scores 0.7 cm/s (ServoArmReach)
and 3 cm/s (PandaReach) over a 2 s episode. Both windows are reported by evaluation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

HOLD_SETTLE_S = 0.5  # the holding window starts this long after the first success (see above)


def holding_metrics(ee_positions_m: Any, q: Any, control_hz: float) -> dict[str, Any]:
    """Tip path length per second and per-joint spread of ``q`` over a holding window.

    ``ee_positions_m``: (T, 3) end-effector positions (m), one per control tick, the first at the tick of
    the first success; ``q``: (T, n) joint positions (rad; m for prismatic joints) at the same ticks;
    ``control_hz``: ticks per second (> 0).

    Returns ``holding_s`` ((T - 1) / control_hz), ``tip_path_cm_per_s`` (summed tip displacement between
    ticks over ``holding_s``, cm/s), ``q_std_rad`` (population standard deviation of each joint, list of n)
    and ``q_std_max_rad`` (its maximum over joints). With fewer than 2 ticks there is no window to
    measure: both rates are None and ``holding_s`` is 0.

    Raises ValueError on mismatched shapes, non-finite values or a non-positive ``control_hz``.
    """
    ee = np.asarray(ee_positions_m, dtype=float)
    qs = np.asarray(q, dtype=float)
    if ee.ndim != 2 or ee.shape[1] != 3:
        raise ValueError(f"ee_positions_m must be (T, 3), got shape {ee.shape}")
    if qs.ndim != 2 or qs.shape[0] != ee.shape[0]:
        raise ValueError(f"q must be (T, n) with T = {ee.shape[0]}, got shape {qs.shape}")
    if not (np.isfinite(control_hz) and control_hz > 0):
        raise ValueError(f"control_hz must be a positive finite number, got {control_hz!r}")
    if not (np.isfinite(ee).all() and np.isfinite(qs).all()):
        raise ValueError("ee_positions_m and q must be finite")
    ticks = ee.shape[0]
    if ticks < 2:
        return {"holding_s": 0.0, "tip_path_cm_per_s": None, "q_std_rad": None, "q_std_max_rad": None}
    holding_s = (ticks - 1) / float(control_hz)
    path_m = float(np.linalg.norm(np.diff(ee, axis=0), axis=1).sum())
    std = qs.std(axis=0)
    return {
        "holding_s": holding_s,
        "tip_path_cm_per_s": 100.0 * path_m / holding_s,
        "q_std_rad": [float(s) for s in std],
        "q_std_max_rad": float(std.max()) if std.size else 0.0,
    }


def holding_after_success(
    ee_positions_m: Any,
    q: Any,
    first_success: int,
    control_hz: float,
    settle_s: float | None = None,
    grip_squeeze: Any = None,
) -> dict[str, Any]:
    """``holding_metrics`` over ticks ``first_success + settle`` to the end, where settle is ``settle_s``
    (default ``HOLD_SETTLE_S``) in ticks, rounded; ``start_s`` in the result is the window's start (s,
    counted from tick 0). ``ee_positions_m`` (T, 3) and ``q`` (T, n) hold every tick of the run. With
    ``grip_squeeze`` (T,) (see ``RobotTaskEnv.grip_squeeze``), ``grip_squeeze`` in the result is its
    median over the window (None for an empty window)."""
    settle = HOLD_SETTLE_S if settle_s is None else settle_s
    start = first_success + round(settle * control_hz)
    ee, qs = np.asarray(ee_positions_m, dtype=float), np.asarray(q, dtype=float)
    window = holding_metrics(ee[start:].reshape(-1, 3), qs[start:].reshape(-1, qs.shape[-1]), control_hz)
    out = {"start_s": start / float(control_hz), **window}
    if grip_squeeze is not None:
        tail = np.asarray(grip_squeeze, dtype=float)[start:]
        out["grip_squeeze"] = float(np.median(tail)) if tail.size else None
    return out


def median_holding(episodes: list[dict[str, Any]], key: str = "holding") -> dict[str, Any]:
    """Medians over the episodes whose ``key`` entry was measured (see ``holding_metrics``):
    ``episodes`` (how many), ``median_tip_path_cm_per_s``, ``median_q_std_max_rad`` (None if none), and
    ``median_grip_squeeze`` where episodes measured a gripper's squeeze."""
    held = [e[key] for e in episodes if e.get(key) and e[key]["tip_path_cm_per_s"] is not None]
    if not held:
        return {"episodes": 0, "median_tip_path_cm_per_s": None, "median_q_std_max_rad": None}
    out = {
        "episodes": len(held),
        "median_tip_path_cm_per_s": float(np.median([h["tip_path_cm_per_s"] for h in held])),
        "median_q_std_max_rad": float(np.median([h["q_std_max_rad"] for h in held])),
    }
    squeezes = [h["grip_squeeze"] for h in held if h.get("grip_squeeze") is not None]
    if squeezes:
        out["median_grip_squeeze"] = float(np.median(squeezes))
    return out
