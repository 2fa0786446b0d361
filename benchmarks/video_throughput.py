"""Evaluation-video throughput: frames/s at 640x480 for ServoArmReach, end to end.

End to end = ``robokit.policies.evaluate`` with ``--video``: worker start-up, stepping, TinyRenderer
frames, overlays, per-episode H.264 encoding in the workers, and the grid montage in the parent. Every
episode is filmed (``video_episodes == episodes``) and runs the full 50 steps (evaluation never ends an
episode at its success; the slow scripted policy, gain 0.05, rarely succeeds, and a film goes on past
the time limit until 1 s after a success). Frames/s = filmed frames / wall time.
Also: step+render alone in one process (the per-core ceiling).

    python benchmarks/video_throughput.py [--episodes 8] [--width 640] [--height 480]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from pathlib import Path

import gymnasium as gym

import robokit.envs  # noqa: F401
from robokit.cli.parser import int_in
from robokit.policies import evaluate, scripted_policy
from robokit.policies.eval_checks import MAX_VIDEO_EPISODES, MIN_FRAME_SIDE
from robokit.policies.evaluation import FILM_AFTER_SUCCESS_S

RESULTS = Path(__file__).parent / "results" / "video_throughput.json"
ENV_ID = "robokit/ServoArmReach-v0"


def render_only(width: int, height: int, frames: int = 100) -> float:
    """Frames/s of env.step + env.render in this process (one core)."""
    env = gym.make(ENV_ID, render_mode="rgb_array", render_width=width, render_height=height)
    env.reset(seed=0)
    env.render()
    t = time.perf_counter()
    for _ in range(frames):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        env.render()
        if term or trunc:
            env.reset()
    fps = frames / (time.perf_counter() - t)
    env.close()
    return fps


def filmed_frames(episode: dict, hz: float) -> int:
    """Frames in an episode's video: one after reset, one per step, and the steps filmed past the time
    limit so that at least FILM_AFTER_SUCCESS_S follows the first success."""
    frames = episode["length"] + 1
    first = episode["steps_to_success"]
    if first is not None:
        frames += max(0, math.ceil(FILM_AFTER_SUCCESS_S * hz - 1e-9) - (episode["length"] - first))
    return frames


def end_to_end(policy_path: Path, episodes: int, workers: int, width: int, height: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        report = evaluate(
            policy_path,
            episodes=episodes,
            out_dir=tmp,
            video=True,
            video_episodes=episodes,
            workers=workers,
            width=width,
            height=height,
            plot=False,
            progress=False,
        )
        wall = time.perf_counter() - t
        sizes = {p.name: p.stat().st_size for p in (Path(tmp) / "videos").glob("*.mp4")}
    frames = sum(filmed_frames(e, hz=25.0) for e in report["episodes"])
    return {
        "workers": workers,
        "episodes": episodes,
        "frames": frames,
        "wall_s": round(wall, 2),
        "frames_per_s": round(frames / wall, 1),
        "mp4_bytes": sum(sizes.values()),
        "mp4_files": len(sizes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--episodes", type=int_in(1, MAX_VIDEO_EPISODES), default=8, help="episodes, all filmed"
    )
    parser.add_argument(
        "--width", type=int_in(MIN_FRAME_SIDE, 4096), default=640, help="frame width (pixels)"
    )
    parser.add_argument(
        "--height", type=int_in(MIN_FRAME_SIDE, 4096), default=480, help="frame height (pixels)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        policy_path = scripted_policy(ENV_ID, gain=0.05).save(Path(tmp) / "slow.safetensors")
        result = {
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "load_avg_at_start": os.getloadavg(),
            },
            "env_id": ENV_ID,
            "size": [args.width, args.height],
            "step_and_render_one_process_fps": round(render_only(args.width, args.height), 1),
            "end_to_end": [
                end_to_end(policy_path, args.episodes, w, args.width, args.height) for w in (1, 2)
            ],
        }
    result["machine"]["load_avg_at_end"] = os.getloadavg()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    print(f"-> {RESULTS}")


if __name__ == "__main__":
    main()
