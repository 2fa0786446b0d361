from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

from robokit.policies import scripted_policy


@pytest.fixture(scope="session")
def scripted_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scripted IK policy for ServoArmReach, written as a real policy file."""
    path = tmp_path_factory.mktemp("scripted") / "policy.safetensors"
    scripted_policy("robokit/ServoArmReach-v0").save(path)
    return path


@pytest.fixture
def clean_registry():
    """Undo the registrations a test makes (robots, env ids, gymnasium ids): later tests see only the
    shipped robots."""
    from robokit.envs import registration
    from robokit.robots import registry

    before = (dict(registry._FOLDERS), dict(registration.ENV_SPECS), dict(registration.TRAIN_DEFAULTS))
    ids, listeners = set(gym.registry), list(registry._LISTENERS)
    yield
    registry._LISTENERS[:] = listeners
    for target, saved in zip(
        (registry._FOLDERS, registration.ENV_SPECS, registration.TRAIN_DEFAULTS), before
    ):
        target.clear()
        target.update(saved)
    for env_id in set(gym.registry) - ids:
        del gym.registry[env_id]
