"""Decode a camera stream of a dataset with imageio-ffmpeg (the FFmpeg binary it ships)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robokit.policies.datasets.format import DatasetError


def read_episode_frames(path: Path, first: int, count: int) -> np.ndarray:
    """Frames ``first .. first + count - 1`` of the mp4 at ``path`` as (count, H, W, 3) uint8 RGB; the file
    is decoded from its start (datasets are small). DatasetError for a missing, unreadable or short file."""
    import imageio_ffmpeg

    if not path.is_file():
        raise DatasetError(f"{path} is missing")
    if first < 0 or count < 1:
        raise ValueError(f"frames {first}..{first + count - 1}: first must be >= 0 and count >= 1")
    frames: list[np.ndarray] = []
    seen = 0
    try:
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = next(reader)
        width, height = meta["size"]
        for i, raw in enumerate(reader):
            seen = i + 1
            if i >= first + count:
                break
            if i >= first:
                frames.append(np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3))
        reader.close()
    except (RuntimeError, OSError, StopIteration, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable video ({' '.join(str(exc).split())[:200]})") from None
    if len(frames) != count:
        raise DatasetError(
            f"{path}: has only {seen} frames; the episode's are frames {first}..{first + count - 1}"
        )
    return np.stack(frames)
