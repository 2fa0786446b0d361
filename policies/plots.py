"""PNG plots (matplotlib, Agg): training curves from a run's ``evals.jsonl``, joint trajectories."""

from __future__ import annotations

import json
from pathlib import Path

from robokit.core.run_files import EVALS_FILE


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def read_evals(run_dir: str | Path) -> list[dict]:
    """Rows of ``run_dir/evals.jsonl`` (steps, train_time_s, success_rate, mean_return, ...)."""
    path = Path(run_dir) / EVALS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_training(run_dir: str | Path, out_png: str | Path) -> Path | None:
    """Success rate and mean return over env steps; None when the run has no evaluation log."""
    rows = read_evals(run_dir)
    if not rows:
        return None
    plt = _plt()
    steps = [r["steps"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    ax1.plot(steps, [r["success_rate"] for r in rows], marker="o")
    ax1.set_ylabel("success rate")
    ax1.set_ylim(-0.02, 1.02)
    ax1.grid(alpha=0.3)
    ax2.plot(steps, [r["mean_return"] for r in rows], marker="o", color="tab:orange")
    ax2.set_ylabel("mean return")
    ax2.set_xlabel("env steps")
    ax2.grid(alpha=0.3)
    fig.suptitle(f"training: {Path(run_dir).name}")
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return Path(out_png)


def joint_labels(spec: dict, n: int) -> list[str]:
    """The robot's joint names (from its RobotSpec) for ``n`` joints; ``q0..q<n-1>`` for a robot this
    robokit does not know or a count that does not match."""
    from robokit.robots import get_robot

    try:
        names = list(get_robot(str(spec.get("robot"))).joint_names)
    except (KeyError, ValueError):
        names = []
    return names if len(names) == n else [f"q{j}" for j in range(n)]


def plot_episode_joints(
    q: list[list[float]], spec: dict, out_png: str | Path, success_s: float | None = None
) -> Path:
    """Joint positions (rad / m) over one episode's steps, one line per joint, labelled with the robot's
    joint names; a dashed line marks the first success at ``success_s`` (s) if given."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    hz = float(spec.get("control_hz", 1.0))
    t = [i / hz for i in range(len(q))]
    n = len(q[0]) if q else 0
    for j, name in enumerate(joint_labels(spec, n)):
        ax.plot(t, [row[j] for row in q], label=name)
    if success_s is not None:
        ax.axvline(success_s, color="0.4", linestyle="--", linewidth=1, label="first success")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("joint position (rad / m)")
    ax.set_title(f"{spec.get('env_id')}: joint trajectory, episode 0")
    ax.grid(alpha=0.3)
    if q:
        ax.legend(loc="upper right", fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return Path(out_png)
