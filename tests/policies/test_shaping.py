"""The training env: episodes that go on after success and a penalty on changing the action, in the
rewards SB3's HER relabels too (issue 9, item 16)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import robokit.envs  # noqa: F401
from robokit.policies import default_config, scripted_policy
from robokit.policies.config import TrainConfig
from robokit.policies.shaping import PENALTY_KEY, ActionChangePenalty, make_train_env

ENV_ID = "robokit/ServoArmReach-v0"


def test_penalty_is_the_squared_change_of_the_clipped_action() -> None:
    plain, shaped = gym.make(ENV_ID), ActionChangePenalty(gym.make(ENV_ID), 0.5)
    plain.reset(seed=4)
    shaped.reset(seed=4)
    expected = [0.5 * 1.0, 0.0, 0.5 * 4.0, 0.5 * 0.25]  # from 0, same, flipped (clipped), second axis
    for action, pen in zip([[1, 0, 0], [1, 0, 0], [-3, 0, 0], [-1, 0.5, 0]], expected):
        a = np.array(action, dtype=np.float32)
        _, r0, *_ = plain.step(a)
        _, r1, _, _, info = shaped.step(a)
        assert info[PENALTY_KEY] == pytest.approx(pen) and r1 == pytest.approx(r0 - pen)
    shaped.reset(seed=5)  # a new episode starts from a zero action
    assert shaped.step(np.array([0.0, 1.0, 0.0], dtype=np.float32))[4][PENALTY_KEY] == pytest.approx(0.5)
    plain.close()
    shaped.close()


def test_compute_reward_subtracts_each_transitions_penalty() -> None:
    env = ActionChangePenalty(gym.make(ENV_ID), 1.0)
    goal = np.zeros((3, 3))
    achieved = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.0, 0.0, 0.001]])
    infos = np.array([{PENALTY_KEY: 0.0}, {PENALTY_KEY: 0.5}, {PENALTY_KEY: 2.0}], dtype=object)
    assert env.compute_reward(achieved, goal, infos).tolist() == [0.0, -1.5, -2.0]
    assert env.compute_reward(achieved[1], goal[1], {PENALTY_KEY: 0.25}) == -1.25
    env.close()


@pytest.mark.slow  # the default suite stays under 10 minutes; `pytest -m slow` runs it
def test_her_samples_carry_the_penalty_on_real_transitions() -> None:
    """Real SB3 TD3 + HerReplayBuffer on the training env: a stored transition's reward is the task's
    minus coef * |a - last action|^2; a relabelled one (SB3 passes no infos to compute_reward unless
    ``copy_info_dict``, a deep copy per sample) is the task's reward for its new goal. With 4 sampled
    goals, 1 in 5 samples is a stored transition."""
    from stable_baselines3 import TD3, HerReplayBuffer

    env = make_train_env(default_config(ENV_ID, action_change_penalty=0.7))
    model = TD3("MultiInputPolicy", env, replay_buffer_class=HerReplayBuffer, learning_starts=10_000, seed=0)
    model.learn(300)
    batch = model.replay_buffer.sample(256)
    n = env.unwrapped.robot.n_joints
    last_action = batch.next_observations["observation"][:, 3 + n : 3 + n + 3].numpy()
    previous = batch.observations["observation"][:, 3 + n : 3 + n + 3].numpy()
    assert np.allclose(last_action, batch.actions.numpy(), atol=1e-6)
    task = env.unwrapped.compute_reward(
        batch.next_observations["achieved_goal"].numpy(), batch.observations["desired_goal"].numpy(), None
    )
    penalty = 0.7 * ((last_action - previous) ** 2).sum(axis=1)
    rewards = batch.rewards.numpy().ravel()
    stored = np.isclose(rewards, task - penalty, atol=1e-5) & (penalty > 1e-3)
    relabelled = np.isclose(rewards, task, atol=1e-6)
    assert np.all(stored | relabelled)
    assert 0.1 < stored.mean() < 0.35
    env.close()


def test_training_episodes_go_on_after_success() -> None:
    env = make_train_env(default_config(ENV_ID))
    assert isinstance(env, ActionChangePenalty) and env.coef == 1.0
    policy, (obs, _) = scripted_policy(ENV_ID), env.reset(seed=0)
    steps, successes, done = 0, 0, False
    while not done:
        obs, _, terminated, truncated, info = env.step(policy.act(obs))
        steps, successes, done = steps + 1, successes + info["is_success"], terminated or truncated
    assert steps == 50 and successes > 30
    off = make_train_env(default_config(ENV_ID, terminate_on_success=True, action_change_penalty=0.0))
    assert not isinstance(off, ActionChangePenalty)
    env.close()
    off.close()


@pytest.mark.parametrize(
    "bad",
    [
        {"action_change_penalty": -0.1},
        {"action_change_penalty": float("nan")},
        {"action_change_penalty": "1"},
        {"action_change_penalty": True},
        {"terminate_on_success": "no"},
    ],
)
def test_bad_shaping_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        TrainConfig.from_dict({**default_config(ENV_ID).to_dict(), **bad})


@pytest.mark.parametrize(
    ("env_id", "algo", "terminate", "penalty"),
    [
        ("robokit/ServoArmReach-v0", "td3", False, 1.0),
        ("robokit/PandaReach-v0", "sac", False, 1.0),
        ("robokit/ServoArmReachJoints-v0", "td3", False, 1.0),
        ("robokit/PandaReachDense-v0", "td3", True, 0.0),  # -distance rewards are too small for it
        ("robokit/ServoArmReachDense-v0", "sac", True, 0.0),
        ("robokit/ServoArmReachDense-v0", "ppo", True, 0.0),
    ],
)
def test_training_env_defaults(env_id: str, algo: str, terminate: bool, penalty: float) -> None:
    config = default_config(env_id, algo)
    assert (config.terminate_on_success, config.action_change_penalty) == (terminate, penalty)
