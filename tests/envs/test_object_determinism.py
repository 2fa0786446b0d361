"""A seeded reset of an object task steps bit-for-bit the same whatever episodes the env ran before (the
attack on issue 11: Bullet kept the objects' contact history through restoreState, so a recorded
PickAndPlace episode 1-3 did not replay), and recorded expert episodes replay exactly."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import robokit.envs  # noqa: F401
from robokit.policies.experts import expert_for


def _episode(env, seed: int, actions=None) -> tuple[np.ndarray, list]:
    obs, _ = env.reset(seed=seed)
    expert = expert_for(env)
    seen, made = [obs["observation"].copy()], []
    for t in range(30):
        a = expert.act(obs) if actions is None else actions[t]
        made.append(a)
        obs, *_ = env.step(a)
        seen.append(obs["observation"].copy())
    return np.array(seen), made


@pytest.mark.parametrize("env_id", ["robokit/PandaPickAndPlace-v0", "robokit/PandaPush-v0"])
def test_a_seeded_episode_does_not_depend_on_the_episodes_before_it(env_id):
    fresh = gym.make(env_id, terminate_on_success=False)
    want, actions = _episode(fresh, 5)
    fresh.close()
    used = gym.make(env_id, terminate_on_success=False)
    for seed in (0, 11):  # grasps and pushes: contacts between the fingers, the object and the table
        _episode(used, seed)
    got, _ = _episode(used, 5, actions)
    used.close()
    assert got.tobytes() == want.tobytes()


def test_recorded_object_task_episodes_replay_exactly(tmp_path):
    from robokit.policies.datasets.record import record
    from robokit.policies.datasets.replay import replay

    out = tmp_path / "pp"
    record("robokit/PandaPickAndPlace-v0", episodes=4, out=out, progress=False)
    for k in range(4):
        assert replay(out, k).max_deviation == 0.0
