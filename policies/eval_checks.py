"""Checks of ``evaluate``'s arguments and output folder, run before any episode and before any write."""

from __future__ import annotations

import math
import numbers
import shutil
import tempfile
from pathlib import Path
from typing import Any

from robokit.paths import PathError, check_output_dir

MAX_EPISODES = 1_000_000
MAX_WORKERS = 64  # one process each; more only queue for the same cores
MAX_VIDEO_EPISODES = 16  # grid tiles; every filmed episode's frames travel back to the parent
MIN_FRAME_SIDE = 64  # pixels: a grid tile is half of it, and the overlay needs room
MAX_FPS = 240.0


class EvalArgumentError(ValueError):
    """An evaluation argument that makes no sense (a usage error: the CLI exits with code 2)."""


def _int_in(name: str, value: Any, lo: int, hi: int | None = None) -> None:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < lo or (hi is not None and value > hi):
        span = f"{lo} or more" if hi is None else f"in {lo}..{hi}"
        raise EvalArgumentError(f"{name} must be an integer {span}, not {value!r}")


def check_eval_args(
    episodes: Any,
    workers: Any,
    seed: Any,
    video: Any,
    video_episodes: Any,
    width: Any,
    height: Any,
    fps: Any,
    plot: Any = True,
    progress: Any = True,
) -> None:
    """Raise EvalArgumentError naming the first argument out of range (option names as in the CLI)."""
    from robokit.envs.registration import MAX_RENDER_SIDE

    _int_in("--episodes", episodes, 1, MAX_EPISODES)
    _int_in("--workers", workers, 1, MAX_WORKERS)
    _int_in("--seed", seed, 0)
    for name, flag in (("video", video), ("plot", plot), ("progress", progress)):
        if not isinstance(flag, bool):
            raise EvalArgumentError(f"{name} must be True or False, not {flag!r}")
    _int_in("--video-episodes", video_episodes, 1, MAX_VIDEO_EPISODES)
    _int_in("--width", width, MIN_FRAME_SIDE, MAX_RENDER_SIDE)
    _int_in("--height", height, MIN_FRAME_SIDE, MAX_RENDER_SIDE)
    if fps is not None:
        ok = isinstance(fps, numbers.Real) and not isinstance(fps, bool) and math.isfinite(fps)
        if not ok or not 1.0 <= fps <= MAX_FPS:
            raise EvalArgumentError(f"--fps must be a number in 1..{MAX_FPS:g}, not {fps!r}")


def prepare_out_dir(out: Path) -> None:
    """Create the output folder (and parents), and prove a file can be written in it.

    Raises EvalArgumentError if ``out`` is a file, sits under a file, or cannot be created or written;
    what this call created is removed again in that case. Too long a name, a symlink loop, /proc, /sys
    and an empty path are refused first (robokit.paths.check_output_dir, which leaves nothing behind)."""
    try:
        check_output_dir(out, "--out")
    except PathError as exc:
        raise EvalArgumentError(str(exc)) from None
    if out.exists() and not out.is_dir():
        raise EvalArgumentError(f"--out {out} is a file, not a folder")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise EvalArgumentError(f"--out {out}: {existing} is a file, not a folder")
    created = None if out.exists() else _first_missing(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as exc:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise EvalArgumentError(f"--out {out} cannot be written: {exc.strerror or exc}") from None


def _first_missing(path: Path) -> Path:
    """The outermost folder of ``path`` that does not exist yet (what mkdir(parents=True) creates)."""
    missing = path
    while not missing.parent.exists():
        missing = missing.parent
    return missing
