"""Demonstrations from a task's scripted expert, in memory, for behaviour cloning without a dataset
(``robokit train ENV --algo bc`` with no ``--dataset``)."""

from __future__ import annotations

import os
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


CHUNK = 25  # episodes per task handed to a worker process (progress moves in these steps)


def expert_arrays(
    env_id: str,
    episodes: int,
    seed: int,
    keys: tuple[str, ...],
    progress: bool = True,
    workers: int | None = None,
    noise: float = 0.0,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(observations {key: (N, dim)} float32, actions (N, action_dim) float32) of ``episodes`` whole
    episodes of ``env_id``'s scripted expert: each runs to the time limit, success or not (the expert
    holds still at the goal, and so learns the clone). ``workers`` processes make them (default: one per
    CPU, at most 2; 1: in this process); the arrays are the same, in seed order, whatever the count.
    ``noise`` > 0: the arm executes the expert's move plus Gaussian noise of that standard deviation
    (action units; a gripper command is executed as given) while the recorded label stays the expert's
    own action, so the clone also sees states off the expert's path with the move that corrects them
    (DART: Laskey et al., "DART: Noise Injection for Robust Imitation Learning", CoRL 2017); the noise
    of each episode is drawn from its seed. NoExpertError for a task without an expert; EvalWorkerError
    if a worker process dies."""
    seeds = demo_seeds(seed, episodes)
    chunks = [(i, seeds[i : i + CHUNK]) for i in range(0, len(seeds), CHUNK)]
    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    bar = progress_bar(episodes, "expert demos", unit="episode", enabled=progress)
    parts: dict[int, tuple[dict[str, np.ndarray], np.ndarray]] = {}
    try:
        if workers <= 1 or len(chunks) == 1:
            _init(env_id, keys, noise)
            try:
                for chunk in chunks:
                    parts[chunk[0]] = _episodes(chunk)[1]
                    bar.update(len(chunk[1]))
            finally:
                _close()
        else:
            from robokit.policies.eval_pool import run_in_workers

            sizes = {start: len(chunk) for start, chunk in chunks}
            for start, part in run_in_workers(
                chunks, workers, _init, (env_id, keys, noise), _episodes, describe_chunk
            ):
                parts[start] = part
                bar.update(sizes[start])
    finally:
        bar.close()
    ordered = [parts[start] for start, _ in chunks]
    obs = {k: np.concatenate([o[k] for o, _ in ordered]) for k in keys}
    return obs, np.concatenate([a for _, a in ordered])


# ---- one env and expert per process (the worker's, or this process's for workers=1) ----------------

_W: dict[str, Any] = {}


def _init(env_id: str, keys: tuple[str, ...], noise: float = 0.0) -> None:
    env: Any = gym.make(env_id, terminate_on_success=False)
    expert = expert_for(env)
    n_motion = expert.action_dim - (1 if expert.gripper_actuated else 0)
    _W.update(env=env, expert=expert, keys=keys, noise=float(noise), n_motion=n_motion)


def _close() -> None:
    if "env" in _W:
        _W.pop("env").close()


def _episodes(chunk: tuple[int, list[int]]) -> tuple[int, tuple[dict[str, np.ndarray], np.ndarray]]:
    """The chunk's episodes: (its start index, (observations by key, actions))."""
    env, expert, keys, noise, n_motion = _W["env"], _W["expert"], _W["keys"], _W["noise"], _W["n_motion"]
    obs_parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    actions: list[np.ndarray] = []
    for s in chunk[1]:
        obs, _ = env.reset(seed=s)
        rng = np.random.default_rng([s, 0xDA27])
        done = False
        while not done:
            a = expert.act(obs)
            for k in keys:
                obs_parts[k].append(obs[k])
            actions.append(a)
            executed = a
            if noise > 0:
                executed = a.copy()
                executed[:n_motion] = np.clip(a[:n_motion] + rng.normal(0.0, noise, n_motion), -1.0, 1.0)
            obs, _, term, trunc, _ = env.step(executed)
            done = term or trunc
    out = {k: np.asarray(v, dtype=np.float32) for k, v in obs_parts.items()}
    return chunk[0], (out, np.asarray(actions, dtype=np.float32))


def describe_chunk(task: tuple[int, list[int]]) -> str:
    """A chunk of demonstration episodes (start, seeds) named in a worker's error message."""
    _, seeds = task
    return f"expert episodes {seeds[0]}..{seeds[-1]}" if len(seeds) else "no expert episodes"
