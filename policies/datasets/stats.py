"""meta/stats.json: per-feature statistics accumulated over frames as episodes arrive.

Entries as LeRobot's ``compute_stats.py`` writes them: ``min``, ``max``, ``mean``, ``std`` (population)
and ``count`` per feature; a vector feature's are per element, a camera's per colour channel with
pixels scaled to [0, 1] and shape (3, 1, 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class RunningStats:
    """min, max, sum and sum of squares of one feature, per element (or per channel for images)."""

    def __init__(self) -> None:
        self.count = 0
        self.n_values = 0
        self.lo: np.ndarray | None = None
        self.hi: np.ndarray | None = None
        self.total: np.ndarray | None = None
        self.total_sq: np.ndarray | None = None

    def add(self, values: np.ndarray, frames: int) -> None:
        """values: (k, d) float64 samples of d elements; ``frames`` of them count toward ``count``."""
        lo, hi = values.min(axis=0), values.max(axis=0)
        total, total_sq = values.sum(axis=0), np.square(values).sum(axis=0)
        if self.lo is None:
            self.lo, self.hi, self.total, self.total_sq = lo, hi, total, total_sq
        else:
            self.lo, self.hi = np.minimum(self.lo, lo), np.maximum(self.hi, hi)
            self.total, self.total_sq = self.total + total, self.total_sq + total_sq
        self.count += frames
        self.n_values += values.shape[0]

    def as_json(self, image: bool = False) -> dict[str, list]:
        """The stats.json entry; images' arrays are shaped (3, 1, 1)."""
        mean = self.total / self.n_values
        std = np.sqrt(np.maximum(self.total_sq / self.n_values - mean**2, 0.0))
        shape = (-1, 1, 1) if image else (-1,)
        out = {k: v.reshape(shape).tolist() for k, v in (("min", self.lo), ("max", self.hi))}
        out.update(mean=mean.reshape(shape).tolist(), std=std.reshape(shape).tolist(), count=[self.count])
        return out


class DatasetStats:
    """Statistics of every numeric feature and every camera of a dataset being written."""

    def __init__(self) -> None:
        self.features: dict[str, RunningStats] = {}
        self.cameras: dict[str, RunningStats] = {}

    def add_column(self, key: str, values: np.ndarray) -> None:
        """values: (L,) or (L, n) for one episode."""
        flat = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        self.features.setdefault(key, RunningStats()).add(flat, len(values))

    def add_frames(self, key: str, frames: np.ndarray) -> None:
        """frames: (L, H, W, 3) uint8 of one episode; sampled every 4th pixel each way for speed."""
        pixels = frames[:, ::4, ::4, :].reshape(-1, 3).astype(np.float64) / 255.0
        self.cameras.setdefault(key, RunningStats()).add(pixels, len(frames))

    def as_json(self) -> dict[str, Any]:
        out = {key: s.as_json() for key, s in self.features.items()}
        out.update({key: s.as_json(image=True) for key, s in self.cameras.items()})
        return out
