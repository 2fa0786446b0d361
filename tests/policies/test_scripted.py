"""The scripted IK reach policy reaches every goal, through the same Policy interface."""

from __future__ import annotations

import gymnasium as gym
import pytest

import robokit.envs  # noqa: F401
from robokit.policies import scripted_policy
from robokit.policies.evaluation import run_episode


@pytest.mark.parametrize(
    ("env_id", "episodes"), [("robokit/ServoArmReach-v0", 30), ("robokit/PandaReach-v0", 10)]
)
def test_scripted_policy_solves_reach(env_id: str, episodes: int) -> None:
    policy = scripted_policy(env_id)
    assert policy.spec["algo"] == "scripted_ik" and policy.spec["env_id"] == env_id
    env = gym.make(env_id)
    results = [run_episode(env, policy, seed=100 + i, episode=i)[0] for i in range(episodes)]
    assert all(r.success for r in results)
    assert all(r.final_distance_m < env.unwrapped.task.distance_threshold_m for r in results)
    assert max(r.length for r in results) < 50  # terminates on success, before the time limit
    env.close()


def test_scripted_policy_refuses_joint_modes() -> None:
    with pytest.raises(ValueError, match="needs an ee_delta env"):
        scripted_policy("robokit/ServoArmReachJoints-v0")
