"""What a deploy run reports: per-goal results, the run's DeploySummary, and the joints plot."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robokit.core.run_files import JOINTS_PLOT_FILE, TICKS_FILE
from robokit.policies.holding import HOLD_SETTLE_S, holding_after_success, holding_metrics, median_holding
from robokit.robots import RobotSpec


@dataclass
class DeploySummary:
    """What a deploy run did. Lateness in ms past the tick's deadline; errors in m."""

    exit_reason: str
    ticks: int
    duration_s: float
    target_hz: float
    achieved_hz: float
    lateness_p50_ms: float
    lateness_p99_ms: float
    lateness_max_ms: float
    missed_deadlines: int
    goals: list[dict] = field(default_factory=list)
    safety_counts: dict[str, int] = field(default_factory=dict)
    link: dict[str, Any] = field(default_factory=dict)
    holding: dict[str, Any] = field(default_factory=dict)  # medians over goals (policies.holding)
    safety: dict[str, Any] = field(default_factory=dict)  # the envelope enforced, and why
    notes: list[str] = field(default_factory=list)
    success_threshold_m: float | None = None  # the distance that counted a goal reached (policy spec)
    task: str = (
        "reach"  # the task's name: "reach error" is the tip's, else the object(s)' distance to the goal
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def goal_result(
    goal: np.ndarray,
    final: Any,
    final_ee: np.ndarray,
    achieved: np.ndarray,
    seen_ee: list[np.ndarray],
    seen_q: list[np.ndarray],
    first_tick: int | None,
    first_success_s: float | None,
    hz: float,
) -> dict[str, Any]:
    """One goal's result: reach error (m) of the final achieved goal, time to reach (s), and how still
    the arm held from the first success (as evaluation measures it: ``policies.holding``)."""
    ee_a = np.reshape(seen_ee, (-1, 3))
    q_a = np.reshape(seen_q, (-1, len(final.q)))
    reached = first_tick is not None
    return {
        "goal_m": goal.tolist(),
        "final_ee_m": np.asarray(final_ee).tolist(),
        "reach_error_m": float(np.linalg.norm(np.asarray(achieved) - goal)),
        "time_to_reach_s": first_success_s,
        "reached": reached,
        # as evaluation: from HOLD_SETTLE_S after the first success, and from the first success itself
        "holding": holding_after_success(ee_a, q_a, first_tick, hz, HOLD_SETTLE_S) if reached else None,
        "holding_from_first_success": holding_metrics(ee_a[first_tick:], q_a[first_tick:], hz)
        if reached
        else None,
        "final_q": final.q.tolist(),
        "frame": final.frame,
        "t_s": final.t_s,  # the arm's clock at the final reading (time.monotonic() on hardware)
    }


def summarise(
    reason: str,
    ticks: int,
    elapsed_s: float,
    hz: float,
    lateness_ms: list[float],
    goals: list[dict],
    **extra: Any,
) -> DeploySummary:
    """The DeploySummary of a run: rates, lateness percentiles, missed deadlines (later than one
    period), holding medians over the goals; ``extra`` fills the remaining fields."""
    lat = np.asarray(lateness_ms) if lateness_ms else np.zeros(1)
    return DeploySummary(
        exit_reason=reason,
        ticks=ticks,
        duration_s=elapsed_s,
        target_hz=hz,
        achieved_hz=ticks / elapsed_s if elapsed_s > 0 else 0.0,
        lateness_p50_ms=float(np.percentile(lat, 50)),
        lateness_p99_ms=float(np.percentile(lat, 99)),
        lateness_max_ms=float(lat.max()),
        missed_deadlines=int(np.sum(lat > 1e3 / hz)),
        goals=goals,
        holding={
            "from_settle": median_holding(goals),
            "from_first_success": median_holding(goals, "holding_from_first_success"),
            "settle_s": HOLD_SETTLE_S,
        },
        **extra,
    )


def _tick_rows(path: Path) -> list[dict[str, Any]]:
    """The whole rows of a ticks.jsonl; a line cut short (the disk filled mid-write) is left out."""
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def plot_joints(log_dir: Path, robot: RobotSpec) -> Path:
    """joints.png: commanded targets vs reported joint angles per joint, from ticks.jsonl. Raises OSError
    when the plot cannot be written (a full disk, a folder of that name)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in _tick_rows(log_dir / TICKS_FILE) if r.get("targets") is not None]
    out = log_dir / JOINTS_PLOT_FILE
    n = robot.n_joints
    fig, axes = plt.subplots(n, 1, figsize=(8, 1.6 * n), sharex=True)
    if rows:
        t = np.array([r["tick"] for r in rows])
        q = np.array([r["q"] for r in rows])
        tg = np.array([r["targets"] for r in rows])
        for j, ax in enumerate(np.atleast_1d(axes)):
            ax.plot(t, tg[:, j], label="commanded", lw=1.2)
            ax.plot(t, q[:, j], label="reported", lw=1.2, ls="--")
            ax.set_ylabel(f"{robot.joint_names[j]}\n(rad)", fontsize=8)
        np.atleast_1d(axes)[0].legend(loc="upper right", fontsize=8)
    np.atleast_1d(axes)[-1].set_xlabel("tick")
    fig.suptitle(f"{robot.name}: commanded vs reported joint angles")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
