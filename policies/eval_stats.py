"""Aggregates of evaluation episodes: success rate with its Wilson interval, returns, times, holding."""

from __future__ import annotations

import math
import statistics
from typing import Any

from robokit.policies.holding import median_holding


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a success rate."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def aggregate(episodes: list[dict]) -> dict[str, Any]:
    """Success rate (+ 95% CI), return mean/median, length, time to success, final distance, holding
    in both windows (medians over the episodes where it was measured; ``holding.median_holding``)."""
    n = len(episodes)
    wins = sum(e["success"] for e in episodes)
    rets = [e["return"] for e in episodes]
    tts = [e["time_to_success_s"] for e in episodes if e["time_to_success_s"] is not None]
    lo, hi = wilson_interval(wins, n)
    return {
        "episodes": n,
        "success_rate": wins / n if n else 0.0,
        "success_ci95": [lo, hi],
        "final_success_rate": sum(e.get("final_success", e["success"]) for e in episodes) / n if n else 0.0,
        "mean_return": statistics.fmean(rets) if n else 0.0,
        "median_return": statistics.median(rets) if n else 0.0,
        "mean_length": statistics.fmean(e["length"] for e in episodes) if n else 0.0,
        "mean_time_to_success_s": statistics.fmean(tts) if tts else None,
        "median_time_to_success_s": statistics.median(tts) if tts else None,
        "mean_final_distance_m": statistics.fmean(e["final_distance_m"] for e in episodes) if n else 0.0,
        "holding": median_holding(episodes),
        "holding_from_first_success": median_holding(episodes, "holding_from_first_success"),
    }
