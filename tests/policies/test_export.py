"""SB3 -> policy file: the exported Policy gives the SB3 model's deterministic actions."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO, SAC, TD3, HerReplayBuffer
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

import robokit.envs  # noqa: F401
from robokit.policies import load_policy
from robokit.policies.export import policy_from_sb3

ENV_ID = "robokit/ServoArmReach-v0"


def _collect(env: gym.Env, n: int) -> list[dict]:
    obs, _ = env.reset(seed=1)
    out, rng = [], np.random.default_rng(1)
    for _ in range(n):
        obs, *_ = env.step(rng.uniform(-1, 1, 3))
        out.append(obs)
    return out


@pytest.mark.parametrize("algo", ["sac", "td3", "ppo"])
def test_exported_policy_matches_sb3(algo: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    venv = VecNormalize(
        DummyVecEnv([lambda: gym.make(ENV_ID)]), norm_obs=True, norm_reward=False, clip_obs=5.0
    )
    kwargs = {"policy_kwargs": {"net_arch": [32, 16]}, "seed": 0, "device": "cpu"}
    if algo == "ppo":
        model = PPO("MultiInputPolicy", venv, n_steps=64, batch_size=32, **kwargs)
    else:
        cls = SAC if algo == "sac" else TD3
        model = cls(
            "MultiInputPolicy", venv, replay_buffer_class=HerReplayBuffer, learning_starts=50, **kwargs
        )
    model.learn(120)  # moves the weights and the normalisation stats away from their initial values
    assert np.abs(venv.obs_rms["observation"].mean).max() > 0.01
    env = gym.make(ENV_ID)
    path = policy_from_sb3(model, env, ENV_ID, venv, training_steps=120, seed=0).save(
        tmp_path / "p.safetensors"
    )
    policy = load_policy(path)
    assert policy.spec["algo"] == algo and policy.spec["network"]["hidden"] == [32, 16]
    assert policy.spec["obs_norm"]["clip"] == 5.0
    observations = _collect(env, 64)
    observations.append({k: v * 40.0 for k, v in observations[0].items()})  # exercises the obs clip
    for obs in observations:
        expected, _ = model.predict(venv.normalize_obs(obs), deterministic=True)
        np.testing.assert_allclose(policy.act(obs), expected, atol=1e-5)
    env.close()
    venv.close()
