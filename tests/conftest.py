from __future__ import annotations

from pathlib import Path

import pytest

from robokit.policies import scripted_policy


@pytest.fixture(scope="session")
def scripted_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scripted IK policy for ServoArmReach, written as a real policy file."""
    path = tmp_path_factory.mktemp("scripted") / "policy.safetensors"
    scripted_policy("robokit/ServoArmReach-v0").save(path)
    return path
