"""Evaluate a policy file: N seeded episodes (in worker processes), eval.json, videos and plots.

Episode i uses seed ``seed + i``; the first ``video_episodes`` are rendered in the workers, written as
``videos/episode-<i>.mp4`` there, and sent back downscaled for ``videos/grid.mp4``.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from robokit.policies.policy_file import (
    Policy,
    PolicyMismatchError,
    check_compatible,
    load_policy,
    read_spec,
)


@dataclass
class EpisodeResult:
    """One episode: return, length (steps), success, final distance (m), steps to first success."""

    episode: int
    seed: int
    return_: float
    length: int
    success: bool
    final_distance_m: float
    steps_to_success: int | None
    time_to_success_s: float | None

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["return"] = d.pop("return_")
        return d


def run_episode(
    env: Any, policy: Policy, seed: int, episode: int = 0, render: bool = False, record_q: bool = False
) -> tuple[EpisodeResult, list[np.ndarray], list[list[float]]]:
    """Run one episode with ``policy`` (deterministic). Returns (result, frames with overlay, q per step)."""
    u = env.unwrapped
    obs, info = env.reset(seed=seed)
    q_slice = slice(*u.observer.layout()["q"])
    frames, qs = [], []
    total, steps, first_success = 0.0, 0, None
    done = False

    def snap(info: dict) -> None:
        if record_q:
            qs.append(obs["observation"][q_slice].astype(float).tolist())
        if render:
            lines = [
                f"episode {episode}  step {steps}",
                f"success: {'yes' if first_success is not None else 'no'}",
                f"distance {100 * info['distance_m']:.1f} cm",
            ]
            from robokit.policies.video import overlay

            frames.append(overlay(env.render(), lines))

    snap(info)
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy.act(obs))
        total += float(reward)
        steps += 1
        if info["is_success"] and first_success is None:
            first_success = steps
        snap(info)
        done = terminated or truncated
    hz = float(u.robot.control_hz)
    result = EpisodeResult(
        episode=episode,
        seed=seed,
        return_=total,
        length=steps,
        success=bool(info["is_success"]),
        final_distance_m=float(info["distance_m"]),
        steps_to_success=first_success,
        time_to_success_s=None if first_success is None else first_success / hz,
    )
    return result, frames, qs


# ---- worker processes: each holds one env and the policy -------------------------------------------

_W: dict[str, Any] = {}


def _init_worker(
    policy_path: str, env_id: str, width: int, height: int, video_dir: str | None, fps: float
) -> None:
    import gymnasium as gym
    import torch

    import robokit.envs  # noqa: F401

    torch.set_num_threads(1)
    render = {"render_mode": "rgb_array", "render_width": width, "render_height": height} if video_dir else {}
    _W.update(env=gym.make(env_id, **render), policy=load_policy(policy_path), video_dir=video_dir, fps=fps)


def _run_task(task: tuple[int, int, bool, bool, int]) -> tuple[dict, list[np.ndarray], list[list[float]]]:
    """One episode in a worker; video episodes are written there and returned downscaled for the grid."""
    episode, seed, video, record_q, grid_factor = task
    result, frames, qs = run_episode(_W["env"], _W["policy"], seed, episode, render=video, record_q=record_q)
    small = []
    if video and frames:
        from robokit.policies.video import downscale, write_mp4

        write_mp4(Path(_W["video_dir"]) / f"episode-{episode:03d}.mp4", frames, _W["fps"])
        small = [downscale(f, grid_factor) for f in frames]
    return result.to_dict(), small, qs


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
    """Success rate (+ 95% CI), return mean/median, length, time to success, final distance."""
    n = len(episodes)
    wins = sum(e["success"] for e in episodes)
    rets = [e["return"] for e in episodes]
    tts = [e["time_to_success_s"] for e in episodes if e["time_to_success_s"] is not None]
    lo, hi = wilson_interval(wins, n)
    return {
        "episodes": n,
        "success_rate": wins / n if n else 0.0,
        "success_ci95": [lo, hi],
        "mean_return": statistics.fmean(rets) if n else 0.0,
        "median_return": statistics.median(rets) if n else 0.0,
        "mean_length": statistics.fmean(e["length"] for e in episodes) if n else 0.0,
        "mean_time_to_success_s": statistics.fmean(tts) if tts else None,
        "median_time_to_success_s": statistics.median(tts) if tts else None,
        "mean_final_distance_m": statistics.fmean(e["final_distance_m"] for e in episodes) if n else 0.0,
    }


def evaluate(
    policy_path: str | os.PathLike,
    episodes: int = 100,
    out_dir: str | os.PathLike | None = None,
    video: bool = True,
    video_episodes: int = 4,
    workers: int = 2,
    seed: int = 0,
    width: int = 640,
    height: int = 480,
    fps: float | None = None,
    env_id: str | None = None,
    plot: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate a policy file; write ``out_dir``/eval.json (+ videos/, *.png). Returns the eval.json dict.

    ``out_dir`` defaults to ``eval-<timestamp>/`` beside the policy; ``fps`` to the control rate; the env
    to the one recorded in the policy (``env_id`` overrides it, after a compatibility check).
    """
    import gymnasium as gym

    import robokit.envs  # noqa: F401

    policy_path = Path(policy_path)
    spec = read_spec(policy_path)
    env_id = env_id or spec.get("env_id")
    if env_id not in gym.registry:
        raise PolicyMismatchError(
            f"the policy was trained on {env_id!r}, which this robokit does not register; "
            "pass --env with one of `robokit envs`"
        )
    probe = gym.make(env_id)
    check_compatible(spec, probe)
    probe.close()
    out = Path(out_dir) if out_dir else policy_path.parent / f"eval-{datetime.now():%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    fps = fps or float(spec["control_hz"])
    n_video = min(video_episodes, episodes) if video else 0
    grid_factor = 2 if n_video > 1 else 1
    tasks = [(i, seed + i, i < n_video, i == 0, grid_factor) for i in range(episodes)]
    init = (str(policy_path), env_id, width, height, str(out / "videos") if n_video else None, fps)

    t0 = time.perf_counter()
    results, small, q_first = [], {}, []
    if workers > 1:
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        with mp.get_context(method).Pool(workers, initializer=_init_worker, initargs=init) as pool:
            it = pool.imap_unordered(_run_task, tasks, chunksize=1)
            results, small, q_first = _collect(it, episodes, progress)
    else:
        _init_worker(*init)
        try:
            results, small, q_first = _collect(map(_run_task, tasks), episodes, progress)
        finally:
            _W["env"].close()
            _W.clear()
    wall_s = time.perf_counter() - t0
    results.sort(key=lambda e: e["episode"])

    videos = []
    if n_video:
        from robokit.policies.video import write_mp4

        videos = [f"videos/episode-{i:03d}.mp4" for i in range(n_video)]
        from robokit.policies.video import grid

        write_mp4(out / "videos" / "grid.mp4", grid([small[i] for i in range(n_video)]), fps, threads=2)
        videos.append("videos/grid.mp4")
    report = {
        "policy": str(policy_path.resolve()),
        "env_id": env_id,
        "spec": {k: spec.get(k) for k in ("robot", "control_mode", "algo", "training_steps", "seed")},
        "seed": seed,
        "workers": workers,
        "wall_time_s": wall_s,
        "aggregate": aggregate(results),
        "episodes": results,
        "videos": videos,
        "plots": [],
    }
    report["success_rate"] = report["aggregate"]["success_rate"]
    if plot:
        from robokit.policies.plots import plot_joints, plot_training

        report["plots"].append(plot_joints(q_first, spec, out / "joints.png").name)
        curve = plot_training(policy_path.parent, out / "training.png")
        if curve is not None:
            report["plots"].append(curve.name)
    tmp = out / "eval.json.tmp"
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, out / "eval.json")
    report["out_dir"] = str(out)
    return report


def _collect(it, episodes: int, progress: bool) -> tuple[list[dict], dict[int, list], list]:
    from tqdm import tqdm

    results, small, q_first = [], {}, []
    wins = 0
    with tqdm(total=episodes, unit="ep", desc="eval", disable=not progress, dynamic_ncols=True) as bar:
        for res, frames, qs in it:
            results.append(res)
            wins += res["success"]
            if frames:
                small[res["episode"]] = frames
            if qs:
                q_first = qs
            bar.set_postfix(success=f"{wins / len(results):.2f}")
            bar.update(1)
    return results, small, q_first


def print_table(report: dict[str, Any]) -> None:
    """The aggregate as a rich table."""
    from rich.console import Console
    from rich.table import Table

    a = report["aggregate"]
    t = Table(title=f"{report['env_id']}: {a['episodes']} episodes")
    t.add_column("metric")
    t.add_column("value", justify="right")
    lo, hi = a["success_ci95"]
    t.add_row("success rate", f"{100 * a['success_rate']:.1f}%  (95% CI {100 * lo:.1f}-{100 * hi:.1f}%)")
    t.add_row("return mean / median", f"{a['mean_return']:.2f} / {a['median_return']:.2f}")
    t.add_row("episode length (steps)", f"{a['mean_length']:.1f}")
    tts = a["mean_time_to_success_s"]
    t.add_row(
        "time to success (s)",
        "-" if tts is None else f"{tts:.2f} (median {a['median_time_to_success_s']:.2f})",
    )
    t.add_row("final distance (cm)", f"{100 * a['mean_final_distance_m']:.2f}")
    t.add_row("wall time (s)", f"{report['wall_time_s']:.1f}")
    Console().print(t)
