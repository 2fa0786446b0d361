"""``robokit rollout``: run an env for a few steps and save the last frame as a PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_ENV = "robokit/ServoArmReach-v0"
DEFAULT_PNG = Path("runs/rollout.png")


def frame_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> (640, 480): width and height in pixels, both positive."""
    parts = text.lower().split("x")
    try:
        w, h = (int(v) for v in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WxH in pixels, e.g. 640x480") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be positive, e.g. 640x480")
    return w, h


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="robokit rollout",
        description="Run an environment with random actions (or --zero) and save a PNG frame of the end.",
    )
    parser.add_argument(
        "env_id",
        nargs="?",
        default=DEFAULT_ENV,
        help=f"a registered env id (default: {DEFAULT_ENV}; see `robokit envs`)",
    )
    parser.add_argument("--steps", type=int, default=50, help="steps to run (default: 50)")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the reset and the random actions (default: 0)"
    )
    parser.add_argument("--zero", action="store_true", help="zero actions instead of random ones")
    parser.add_argument(
        "--png", type=Path, default=DEFAULT_PNG, help=f"where to write the frame (default: {DEFAULT_PNG})"
    )
    parser.add_argument(
        "--size", type=frame_size, default=(640, 480), help="frame size WxH in pixels (default: 640x480)"
    )
    args = parser.parse_args(argv)

    from robokit.envs.cli import unknown_env_message

    if msg := unknown_env_message(args.env_id):
        print(f"robokit rollout: {msg}", file=sys.stderr)
        return 2

    import gymnasium as gym
    import imageio.v3 as iio
    import numpy as np

    w, h = args.size
    env = gym.make(args.env_id, render_mode="rgb_array", render_width=w, render_height=h)
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
    args.png.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(args.png, frame)
    print(f"{args.env_id}: return {ret:.2f}, final distance {info['distance_m']:.3f} m, frame -> {args.png}")
    env.close()
    return 0
