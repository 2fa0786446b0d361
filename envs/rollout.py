"""``robokit rollout``: run an env for a few steps and save the last frame as a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="robokit rollout",
        description="Run an environment with random actions (or --zero) and save a PNG frame of the end.",
    )
    parser.add_argument("env_id", nargs="?", default="robokit/ServoArmReach-v0", help="a registered env id")
    parser.add_argument("--steps", type=int, default=50, help="steps to run (default 50)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--zero", action="store_true", help="zero actions instead of random ones")
    parser.add_argument("--png", type=Path, default=Path("runs/rollout.png"), help="where to write the frame")
    parser.add_argument("--size", default="640x480", help="frame size WxH (default 640x480)")
    args = parser.parse_args(argv)

    import gymnasium as gym
    import imageio.v3 as iio
    import numpy as np

    import robokit.envs  # noqa: F401  (registers the ids)

    w, h = (int(v) for v in args.size.lower().split("x"))
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
