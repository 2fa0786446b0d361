"""What ``robokit eval`` writes besides the episodes: eval.json, the video grid, the plots."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from robokit.core import run_files as rf
from robokit.policies.policy_spec import PolicySpec


def write_json(path: Path, data: dict[str, Any]) -> None:
    """``data`` as indented JSON, through a temp file renamed into place."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def write_grid(out: Path, small: dict[int, list], n_video: int, fps: float) -> list[str]:
    """videos/grid.mp4 from the downscaled frames; the video files' names (relative to ``out``)."""
    if not n_video:
        return []
    from robokit.policies.video import grid, write_mp4

    videos = [f"videos/episode-{i:03d}.mp4" for i in range(n_video)]
    write_mp4(out / rf.VIDEOS_DIR / "grid.mp4", grid([small[i] for i in range(n_video)]), fps, threads=2)
    return [*videos, "videos/grid.mp4"]


def write_plots(
    out: Path, policy_path: Path, spec: PolicySpec, results: list[dict], q_first: list
) -> list[str]:
    """joints.png (episode 0), and training.png if the policy sits in a run folder; their names."""
    from robokit.policies.plots import plot_episode_joints, plot_training

    first = results[0]["time_to_success_s"] if results else None
    names = [plot_episode_joints(q_first, spec.raw, out / rf.JOINTS_PLOT_FILE, success_s=first).name]
    curve = plot_training(policy_path.parent, out / rf.TRAINING_PLOT_FILE)
    return names if curve is None else [*names, curve.name]
