"""A digest of seeded rollouts of every registered robokit env: observations, rewards, terminations,
infos, the arm's measured joints and Safety's counts, bit for bit. Run it in two checkouts and compare
the lines: a speed-up that changes no behaviour prints the same digests.

    python benchmarks/rollout_digest.py [--steps 300] [--dump FILE.npz]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import gymnasium as gym
import numpy as np

import robokit.envs  # noqa: F401


def rollout(env_id: str, steps: int, expert: bool = False) -> dict[str, np.ndarray]:
    """Arrays of a ``steps``-step rollout (seed 0, resets included) of ``env_id``: random actions, or
    with ``expert`` the task's scripted expert (its actions follow the observations: any change shows)."""
    env = gym.make(env_id)
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    policy = None
    if expert:
        from robokit.policies.experts import expert_for

        policy = expert_for(env)
    rows: dict[str, list] = {
        "observation": [],
        "achieved_goal": [],
        "desired_goal": [],
        "scalars": [],
        "q": [],
    }
    for _ in range(steps):
        action = env.action_space.sample() if policy is None else policy.act(obs)
        obs, reward, term, trunc, info = env.step(action)
        for key in ("observation", "achieved_goal", "desired_goal"):
            rows[key].append(obs[key])
        rows["scalars"].append([reward, term, trunc, info["is_success"], info["distance_m"]])
        rows["q"].append(env.unwrapped.arm.measured_q())
        if term or trunc:
            obs, _ = env.reset()
    counts = env.unwrapped.safety.counts
    env.close()
    out = {k: np.asarray(v) for k, v in rows.items()}
    out["safety_counts"] = np.array([counts["limit"], counts["step"], counts["floor"]])
    return out


def digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(key.encode() + str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    return h.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--dump", type=Path, default=None, help="also save every array (npz)")
    args = parser.parse_args()
    dump = {}
    for env_id in sorted(k for k in gym.registry if k.startswith("robokit/")):
        for expert in (False, True):
            try:
                arrays = rollout(env_id, args.steps, expert)
            except ValueError as exc:  # no expert for this env's control mode
                print(f"{env_id:36s} expert: {exc}")
                continue
            kind = "expert" if expert else "random"
            dump |= {f"{env_id}:{kind}:{k}": v for k, v in arrays.items()}
            print(f"{env_id:36s} {kind:6s} {digest(arrays)}")
    if args.dump:
        np.savez(args.dump, **dump)


if __name__ == "__main__":
    main()
