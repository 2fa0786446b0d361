"""Policies: policy files (safetensors + JSON spec), a scripted reach policy, training (SB3), evaluation.

Every name is imported on first use, so ``robokit train --help`` stays instant and loading a policy
(``load_policy``: torch + safetensors) never imports Stable-Baselines3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "FORMAT_VERSION": "robokit.policies.policy_file",
    "Policy": "robokit.policies.policy_file",
    "PolicyFileError": "robokit.policies.policy_file",
    "PolicyMismatchError": "robokit.policies.compat",
    "PolicySpec": "robokit.policies.policy_spec",
    "validate_spec": "robokit.policies.policy_spec",
    "read_policy_spec": "robokit.policies.policy_file",
    "check_compatible": "robokit.policies.compat",
    "check_fits_robot": "robokit.policies.compat",
    "load_policy": "robokit.policies.policy_file",
    "read_spec": "robokit.policies.policy_file",
    "save_policy": "robokit.policies.policy_file",
    "scripted_policy": "robokit.policies.scripted",
    "TrainConfig": "robokit.policies.config",
    "TrainConfigError": "robokit.policies.config",
    "default_config": "robokit.policies.config",
    "train": "robokit.policies.training",
    "evaluate": "robokit.policies.evaluation",
    "run_sweep": "robokit.policies.sweep",
    "read_config_file": "robokit.policies.config_file",
}

__all__ = [
    "FORMAT_VERSION",
    "Policy",
    "PolicyFileError",
    "PolicyMismatchError",
    "PolicySpec",
    "TrainConfig",
    "TrainConfigError",
    "check_compatible",
    "check_fits_robot",
    "default_config",
    "evaluate",
    "load_policy",
    "read_config_file",
    "read_policy_spec",
    "read_spec",
    "run_sweep",
    "save_policy",
    "scripted_policy",
    "train",
    "validate_spec",
]

if TYPE_CHECKING:
    from robokit.policies.compat import PolicyMismatchError, check_compatible, check_fits_robot
    from robokit.policies.config import TrainConfig, TrainConfigError, default_config
    from robokit.policies.config_file import read_config_file
    from robokit.policies.evaluation import evaluate
    from robokit.policies.policy_file import (
        FORMAT_VERSION,
        Policy,
        PolicyFileError,
        load_policy,
        read_policy_spec,
        read_spec,
        save_policy,
    )
    from robokit.policies.policy_spec import PolicySpec, validate_spec
    from robokit.policies.scripted import scripted_policy
    from robokit.policies.sweep import run_sweep
    from robokit.policies.training import train


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'robokit.policies' has no attribute {name!r}")
