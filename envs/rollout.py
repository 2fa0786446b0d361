"""Run an env for a few steps and keep the last frame: ``rollout`` (what ``robokit rollout`` runs), and
the PNG checks and writer it uses. The PNG is encoded in memory and then written whole (a temporary file
renamed over it)."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robokit.paths import PathError, check_output_file

DEFAULT_ENV = "robokit/ServoArmReach-v0"
MAX_STEPS = 100_000


@dataclass
class Rollout:
    """What a rollout gives: the summed reward, the last step's info dict, the last frame (H, W, 3) uint8."""

    ret: float
    info: dict[str, Any]
    frame: np.ndarray


def rollout(
    env_id: str = DEFAULT_ENV,
    steps: int = 50,
    seed: int = 0,
    zero: bool = False,
    size: tuple[int, int] = (640, 480),
) -> Rollout:
    """Reset ``env_id`` with ``seed``, step it ``steps`` times (or until the episode ends) with random
    actions seeded by ``seed`` (zero actions with ``zero``), and render a ``size`` (width, height) frame."""
    import gymnasium as gym

    import robokit.envs  # noqa: F401  (registers the ids)

    w, h = size
    env = gym.make(env_id, render_mode="rgb_array", render_width=w, render_height=h)
    try:
        env.action_space.seed(seed)
        _, info = env.reset(seed=seed)
        ret = 0.0
        for _ in range(steps):
            a = np.zeros(env.action_space.shape) if zero else env.action_space.sample()
            _, r, term, trunc, info = env.step(a)
            ret += float(r)
            if term or trunc:
                break
        frame = env.render()
    finally:
        env.close()
    return Rollout(ret=ret, info=info, frame=frame)


def png_problem(path: Path) -> str | None:
    """Why ``path`` cannot take the PNG (named .png, a file or not there yet, in a writable directory
    or one that can be created), or None. Checked before anything runs."""
    if path.suffix.lower() != ".png":
        return f"{str(path)!r} must end in .png"
    try:  # the usual faults in their own words first; what raises here is left to check_output_file
        if path.is_dir():
            return f"{str(path)!r} is a directory; name a file, e.g. {str(path / 'rollout.png')!r}"
        if path.exists() and not path.is_file():
            return f"{str(path)!r} exists and is not a regular file"
        parent = path.absolute().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            return f"cannot create {str(path)!r}: {str(parent)!r} is not a directory"
    except OSError:
        pass
    try:  # empty, too long, under a file, a symlink loop, /proc: a probe write and rename, removed at once
        check_output_file(path, "--png")
    except PathError as exc:
        return re.sub(r"^--png:? ", "", str(exc))
    return None


def write_png(path: Path, frame) -> None:
    """Encode ``frame`` (H, W, 3) uint8 as PNG and write it whole; OSError if the disk refuses."""
    import imageio.v3 as iio

    data = iio.imwrite("<bytes>", frame, extension=".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
