"""How the version-1 policy files in this folder were made (run once, at commit 1d25839, the last commit
whose robokit wrote format version 1; kept for the record, not run by the tests).

    git checkout 1d25839 && .venv/bin/python tests/policies/data/make_v1_files.py

v1_scripted.safetensors  the scripted IK reach policy for robokit/ServoArmReach-v0 (policies/scripted.py)
v1_sac_tiny.safetensors  a SAC actor ([16, 16], VecNormalize clip 5) after 120 steps of HER training on
                         ServoArmReach-v0, exported by policies/export.py (policy_from_sb3)
v1_sac_tiny_obs.npz      64 observations of that env and the actions the file gave for them then
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import SAC, HerReplayBuffer
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

import robokit.envs  # noqa: F401
from robokit.policies import load_policy, scripted_policy
from robokit.policies.export import policy_from_sb3

HERE = Path(__file__).parent
ENV_ID = "robokit/ServoArmReach-v0"


def main() -> None:
    scripted_policy(ENV_ID).save(HERE / "v1_scripted.safetensors")
    torch.manual_seed(0)
    venv = VecNormalize(
        DummyVecEnv([lambda: gym.make(ENV_ID)]), norm_obs=True, norm_reward=False, clip_obs=5.0
    )
    model = SAC(
        "MultiInputPolicy",
        venv,
        replay_buffer_class=HerReplayBuffer,
        learning_starts=50,
        policy_kwargs={"net_arch": [16, 16]},
        seed=0,
        device="cpu",
    )
    model.learn(120)
    env = gym.make(ENV_ID)
    path = policy_from_sb3(model, env, ENV_ID, venv, training_steps=120, seed=0).save(
        HERE / "v1_sac_tiny.safetensors"
    )
    policy = load_policy(path)
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(3)
    rows = []
    for _ in range(64):
        obs, *_ = env.step(rng.uniform(-1, 1, 3))
        rows.append(obs)
    stacked = {k: np.stack([o[k] for o in rows]) for k in rows[0]}
    actions = np.stack([policy.act(o) for o in rows])
    np.savez(HERE / "v1_sac_tiny_obs.npz", actions=actions, **stacked)
    env.close()
    venv.close()


if __name__ == "__main__":
    main()
