"""Holding: how still an arm stands at its goal, from the first success to the end of an episode.

Pure numpy, no torch, no simulator: evaluation (sim) and deploy (hardware) call the same function on
the end-effector positions and joint positions they recorded, one sample per control tick.
"""

from __future__ import annotations

from typing import Any

import numpy as np


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


def median_holding(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the episodes whose ``holding`` entry was measured (see ``holding_metrics``):
    ``episodes`` (how many), ``median_tip_path_cm_per_s``, ``median_q_std_max_rad`` (None if none)."""
    held = [
        e["holding"] for e in episodes if e.get("holding") and e["holding"]["tip_path_cm_per_s"] is not None
    ]
    if not held:
        return {"episodes": 0, "median_tip_path_cm_per_s": None, "median_q_std_max_rad": None}
    return {
        "episodes": len(held),
        "median_tip_path_cm_per_s": float(np.median([h["tip_path_cm_per_s"] for h in held])),
        "median_q_std_max_rad": float(np.median([h["q_std_max_rad"] for h in held])),
    }
