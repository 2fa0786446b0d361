"""Shared by the robot-folder tests: undo the registrations a test makes."""

from __future__ import annotations

import gymnasium as gym
import pytest

from robokit.envs import registration
from robokit.robots import registry


@pytest.fixture
def clean_registry():
    """Undo the registrations a test makes (robots, env ids, gymnasium ids): later tests see only the
    shipped robots."""
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
