"""``robokit rollout``: run an env for a few steps and save the last frame as a PNG.

Every argument is checked before the env is built; a bad one is one line on stderr and exit 2, with
nothing written. The PNG is encoded in memory and then written whole (a temporary file renamed over it).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from robokit.cli_parser import OneLineParser
from robokit.envs.cli import print_out, unknown_env_message
from robokit.envs.registration import MAX_RENDER_SIDE
from robokit.paths import PathError, check_output_file

DEFAULT_ENV = "robokit/ServoArmReach-v0"
DEFAULT_PNG = Path("runs/rollout.png")
MAX_STEPS = 100_000
_SIZE = re.compile(r"\s*(\d+)[xX](\d+)\s*")


def frame_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> (640, 480): width and height in pixels, each in 1..MAX_RENDER_SIDE."""
    m = _SIZE.fullmatch(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not WxH in pixels, e.g. 640x480")
    w, h = int(m[1]), int(m[2])
    if not (0 < w <= MAX_RENDER_SIDE and 0 < h <= MAX_RENDER_SIDE):
        raise argparse.ArgumentTypeError(
            f"{text!r}: width and height must be 1..{MAX_RENDER_SIDE} pixels, e.g. 640x480"
        )
    return w, h


def step_count(text: str) -> int:
    """A number of steps: an integer in 1..MAX_STEPS."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of steps") from None
    if not 0 < n <= MAX_STEPS:
        raise argparse.ArgumentTypeError(f"{n} steps: must be 1..{MAX_STEPS}")
    return n


def seed_value(text: str) -> int:
    """A seed: an integer >= 0 (Gymnasium refuses negative seeds)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n}: a seed must be >= 0")
    return n


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


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="robokit rollout",
        description="Run an environment with random actions (or --zero) and save a PNG frame of the end.",
    )
    parser.add_argument(
        "env_id",
        nargs="?",
        default=DEFAULT_ENV,
        help=f"a registered env id (default: {DEFAULT_ENV}; see `robokit envs`)",
    )
    parser.add_argument(
        "--steps", type=step_count, default=50, help=f"steps to run, 1..{MAX_STEPS} (default: 50)"
    )
    parser.add_argument(
        "--seed", type=seed_value, default=0, help="seed of the reset and the random actions (default: 0)"
    )
    parser.add_argument("--zero", action="store_true", help="zero actions instead of random ones")
    parser.add_argument(
        "--png", type=Path, default=DEFAULT_PNG, help=f"where to write the frame (default: {DEFAULT_PNG})"
    )
    parser.add_argument(
        "--size",
        type=frame_size,
        default=(640, 480),
        help=f"frame size WxH in pixels, each 1..{MAX_RENDER_SIDE} (default: 640x480)",
    )
    return parser


def main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if msg := unknown_env_message(args.env_id):
        print(f"robokit rollout: {msg}", file=sys.stderr)
        return 2
    if msg := png_problem(args.png):
        print(f"robokit rollout: error: argument --png: {msg}", file=sys.stderr)
        return 2

    import gymnasium as gym
    import numpy as np

    w, h = args.size
    env = gym.make(args.env_id, render_mode="rgb_array", render_width=w, render_height=h)
    try:
        env.action_space.seed(args.seed)
        obs, info = env.reset(seed=args.seed)
        ret = 0.0
        for _ in range(args.steps):
            a = np.zeros(env.action_space.shape) if args.zero else env.action_space.sample()
            obs, r, term, trunc, info = env.step(a)
            ret += r
            if term or trunc:
                break
        frame = env.render()
    finally:
        env.close()
    try:
        write_png(args.png, frame)
    except OSError as exc:
        print(f"robokit rollout: could not write {str(args.png)!r}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print_out(
        f"{args.env_id}: return {ret:.2f}, final distance {info['distance_m']:.3f} m, frame -> {args.png}\n"
    )
    return 0
