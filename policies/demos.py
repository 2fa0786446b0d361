"""Demonstrations from a task's scripted expert, in memory, for behaviour cloning without a dataset
(``robokit train ENV --algo bc`` with no ``--dataset``)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from robokit.console import progress_bar
from robokit.policies.experts import expert_for

DEMO_SEED_LOW = 2_000_000  # demonstration seeds lie above evaluation's (eval 0-99, training's 1000000+)


def demo_seeds(seed: int, episodes: int) -> list[int]:
    """``episodes`` distinct reset seeds in [DEMO_SEED_LOW, 2**31), drawn from ``seed``: disjoint from
    the seeds ``robokit eval`` and training's evaluations use."""
    rng = np.random.default_rng([seed, 0xDE70])
    seeds = rng.choice(2**31 - DEMO_SEED_LOW, size=episodes, replace=False) + DEMO_SEED_LOW
    return [int(s) for s in seeds]


def expert_arrays(
    env_id: str, episodes: int, seed: int, keys: tuple[str, ...], progress: bool = True
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(observations {key: (N, dim)} float32, actions (N, action_dim) float32) of ``episodes`` whole
    episodes of ``env_id``'s scripted expert: each runs to the time limit, success or not (the expert
    holds still at the goal, and so learns the clone). NoExpertError for a task without an expert."""
    env: Any = gym.make(env_id, terminate_on_success=False)
    try:
        expert = expert_for(env)
        obs_parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        actions: list[np.ndarray] = []
        bar = progress_bar(episodes, "expert demos", unit="episode", enabled=progress)
        for s in demo_seeds(seed, episodes):
            obs, _ = env.reset(seed=s)
            done = False
            while not done:
                a = expert.act(obs)
                for k in keys:
                    obs_parts[k].append(obs[k])
                actions.append(a)
                obs, _, term, trunc, _ = env.step(a)
                done = term or trunc
            bar.update(1)
        bar.close()
    finally:
        env.close()
    out = {k: np.asarray(v, dtype=np.float32) for k, v in obs_parts.items()}
    return out, np.asarray(actions, dtype=np.float32)
