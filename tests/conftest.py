from __future__ import annotations

import glob
import os
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


_KEEP: list = []  # the Library object must outlive the import


def _lerobot_dataset_class(cache: Path) -> type:
    """LeRobot's loader (PyPI lerobot-dataset 0.4.4), offline. PyPI's torchvision 0.28.0 is a CUDA build:
    with the CPU torch its C kernels cannot load, and its import stops at the one fake-kernel registration
    that does not check for them (nms, qnms). Defining those two op schemas lets torchvision's Python part
    import; LeRobotDataset never calls a detection op (video is decoded by torchcodec)."""
    pytest.importorskip("ledataset", reason="pip install lerobot-dataset==0.4.4 --no-deps (see .ci/install)")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("HF_DATASETS_CACHE", str(cache))
    import importlib.util

    import torch

    location = importlib.util.find_spec("torchvision").submodule_search_locations[0]
    try:
        torch.ops.load_library(glob.glob(os.path.join(location, "_C*.so"))[0])
    except (OSError, IndexError):
        if not hasattr(torch.ops.torchvision, "nms"):
            lib = torch.library.Library("torchvision", "DEF")
            lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            _KEEP.append(lib)
    from ledataset.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset


@pytest.fixture
def lerobot_loader(tmp_path: Path) -> type:
    """LeRobot's ``LeRobotDataset`` class (lerobot-dataset 0.4.4, offline); skips where it is not installed."""
    return _lerobot_dataset_class(tmp_path / "hf-cache")
