"""What a robot folder may set as training defaults (``envs[].train.<algo>``): the algorithms and the
``robokit.policies.TrainConfig`` fields with their types and ranges. Kept here because robots is the
lower layer; tests/robokit/robots/test_bad_folders.py checks it matches TrainConfig field for field."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robokit.robots.folder import _Checker

TRAIN_ALGOS = ("sac", "td3", "tqc", "ppo", "bc")
# key -> (kind, low, high): kind int | float | bool | str | ints (a list of ints) | float? (a float or null)
TRAIN_KEYS: dict[str, tuple[str, float, float]] = {
    "steps": ("int", 1, 10**9),
    "seed": ("int", 0, 2**32 - 1 - 256),
    "n_envs": ("int", 1, 64),  # policies.config.MAX_ENVS
    "device": ("str", 0, 0),
    "torch_threads": ("int", 1, 256),
    "net_arch": ("ints", 1, 4096),
    "learning_rate": ("float", 0, 1),
    "gamma": ("float", 0, 1),
    "batch_size": ("int", 1, 10**6),
    "buffer_size": ("int", 1, 10**8),
    "learning_starts": ("int", 0, 10**9),
    "tau": ("float", 0, 1),
    "train_freq": ("int", 1, 10**6),
    "gradient_steps": ("int", 1, 10**6),
    "action_noise_std": ("float", 0, 10),
    "fused_adam": ("bool", 0, 0),
    "her": ("bool", 0, 0),
    "her_n_sampled_goal": ("int", 0, 100),
    "terminate_on_success": ("bool", 0, 0),
    "action_change_penalty": ("float", 0, 100),
    "n_steps": ("int", 1, 10**6),
    "n_epochs": ("int", 1, 10**4),
    "ent_coef": ("float", 0, 10),
    "norm_obs": ("bool", 0, 0),
    "clip_obs": ("float", 0, 10**6),
    "eval_every": ("int", 1, 10**9),
    "eval_episodes": ("int", 1, 10**6),
    "eval_seed": ("int", 0, 2**32 - 1),
    "stop_success_rate": ("float?", 0, 1),
    "stop_patience": ("int", 1, 10**6),
    "checkpoint_every": ("int", 1, 10**9),
    "keep_checkpoints": ("int", 1, 10**6),
    "progress": ("bool", 0, 0),
    "demo_episodes": ("int", 1, 10**6),
    "action_deadband": ("float", 0, 0.2),
    "demo_noise": ("float", 0, 1),
}


def _is_number(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return False
    if kind == "int":
        return isinstance(value, int)
    return isinstance(value, (int, float)) and math.isfinite(value)


def train_value_problem(key: str, value: Any) -> str | None:
    """Why ``value`` cannot be the training default ``key`` (None if it can)."""
    if key not in TRAIN_KEYS:
        return f"unknown training setting; known: {sorted(TRAIN_KEYS)}"
    kind, low, high = TRAIN_KEYS[key]
    if kind == "float?" and value is None:
        return None
    if kind in ("bool", "str"):
        ok = isinstance(value, bool if kind == "bool" else str)
        return None if ok else f"want {'true or false' if kind == 'bool' else 'text'}, got {value!r}"
    items = value if kind == "ints" and isinstance(value, list) and value else [value]
    number_kind = "int" if kind in ("int", "ints") else "float"
    for item in items:
        if not _is_number(item, number_kind) or not low <= item <= high:
            want = f"{'an integer' if number_kind == 'int' else 'a number'} in [{low:g}, {high:g}]"
            return f"want {want}{' (a list)' if kind == 'ints' else ''}, got {value!r}"
    return None


def check_train(check: _Checker, raw: Any, where: str) -> dict[str, Any]:
    """{algorithm: {TrainConfig field: value}}, each checked against robots.train_schema, and optionally
    ``default``: the algorithm ``robokit train`` uses for the env when none is named."""
    if not isinstance(raw, dict):
        raise check.fail(where, f"want a mapping, got {type(raw).__name__}")
    out: dict[str, Any] = {}
    for algo, table in raw.items():
        if algo == "default":
            if table not in TRAIN_ALGOS:
                raise check.fail(
                    f"{where}.default", f"unknown algorithm {str(table)[:40]!r}; known: {list(TRAIN_ALGOS)}"
                )
            out["default"] = table
            continue
        if algo not in TRAIN_ALGOS:
            raise check.fail(where, f"unknown algorithm {str(algo)[:40]!r}; known: {list(TRAIN_ALGOS)}")
        if not isinstance(table, dict):
            raise check.fail(f"{where}.{algo}", f"want a mapping, got {type(table).__name__}")
        for key, value in table.items():
            problem = train_value_problem(key, value) if isinstance(key, str) else "not a name"
            if problem:
                raise check.fail(f"{where}.{algo}.{str(key)[:40]}", problem)
        out[algo] = dict(table)
    return out
