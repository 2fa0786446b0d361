"""The periodic evaluation a training run writes to evals.jsonl, one row at a time (RL and bc alike)."""

from __future__ import annotations

from typing import Any

from robokit.policies.eval_stats import aggregate
from robokit.policies.evaluation import run_episode
from robokit.policies.policy_file import Policy


def evaluation_row(
    env: Any,
    policy: Policy,
    first_seed: int,
    episodes: int,
    steps: int,
    train_time_s: float,
    stop: Any = bool,
) -> dict[str, Any] | None:
    """A training run's periodic evaluation (one evals.jsonl row): ``episodes`` episodes of ``policy`` with
    seeds ``first_seed + i``; None when ``stop()`` turns true between episodes (a Ctrl-C meanwhile)."""
    results = []
    for i in range(episodes):
        if stop():
            return None
        results.append(run_episode(env, policy, first_seed + i, i)[0].to_dict())
    agg = aggregate(results)
    return {
        "steps": int(steps),
        "train_time_s": round(train_time_s, 3),
        "success_rate": agg["success_rate"],
        "mean_return": agg["mean_return"],
        "mean_length": agg["mean_length"],
        "mean_final_distance_m": agg["mean_final_distance_m"],
    }
