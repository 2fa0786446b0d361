"""``robokit rollout``: run an env for a few steps and save the last frame as a PNG
(``robokit.envs.rollout.rollout``).

Every argument is checked before the env is built; a bad one is one line on stderr and exit 2, with
nothing written.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from robokit.cli.parser import OneLineParser, print_out

DEFAULT_PNG = Path("runs/rollout.png")
_SIZE = re.compile(r"\s*(\d+)[xX](\d+)\s*")


def frame_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> (640, 480): width and height in pixels, each in 1..MAX_RENDER_SIDE."""
    from robokit.envs.registration import MAX_RENDER_SIDE

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
    from robokit.envs.rollout import MAX_STEPS

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


def _parser() -> argparse.ArgumentParser:
    from robokit.envs.registration import MAX_RENDER_SIDE
    from robokit.envs.rollout import DEFAULT_ENV, MAX_STEPS

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
    """``robokit rollout``; returns 0, 1 (the PNG could not be written) or 2 (a usage error)."""
    args = _parser().parse_args(argv)
    from robokit.envs.catalog import unknown_env_message
    from robokit.envs.rollout import png_problem, rollout, write_png

    if msg := unknown_env_message(args.env_id):
        print(f"robokit rollout: {msg}", file=sys.stderr)
        return 2
    if msg := png_problem(args.png):
        print(f"robokit rollout: error: argument --png: {msg}", file=sys.stderr)
        return 2
    result = rollout(args.env_id, steps=args.steps, seed=args.seed, zero=args.zero, size=args.size)
    try:
        write_png(args.png, result.frame)
    except OSError as exc:
        print(f"robokit rollout: could not write {str(args.png)!r}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print_out(
        f"{args.env_id}: return {result.ret:.2f}, final distance {result.info['distance_m']:.3f} m, "
        f"frame -> {args.png}\n"
    )
    return 0
