"""What ``robokit sweep`` searches, per algorithm, kept as data (docs/scale.md prints the same table).

Each entry: TrainConfig field (or ``net_width``/``net_depth``, which make ``net_arch``) -> a distribution:
``("log", low, high)`` float sampled log-uniformly, ``("float", low, high)`` uniformly, ``("choice", [...])``
one of the values. Everything else comes from the env's training defaults (``default_config``).
"""

from __future__ import annotations

from typing import Any

COMMON: dict[str, tuple] = {
    "learning_rate": ("log", 1e-4, 3e-3),
    "gamma": ("choice", [0.9, 0.95, 0.98, 0.99]),
    "batch_size": ("choice", [64, 128, 256, 512]),
    "net_width": ("choice", [64, 128, 256]),
    "net_depth": ("choice", [2, 3]),
}
OFF_POLICY: dict[str, tuple] = {
    "tau": ("log", 0.005, 0.1),
    "her_n_sampled_goal": ("choice", [2, 4, 8]),
    "action_change_penalty": ("choice", [0.0, 0.3, 1.0]),
}
SEARCH_SPACE: dict[str, dict[str, tuple]] = {
    "td3": {**COMMON, **OFF_POLICY, "action_noise_std": ("float", 0.05, 0.5)},
    "sac": {**COMMON, **OFF_POLICY},
    "tqc": {**COMMON, **OFF_POLICY},
    "ppo": {
        **COMMON,
        "n_steps": ("choice", [128, 256, 512, 1024]),
        "n_epochs": ("choice", [5, 10, 20]),
        "ent_coef": ("log", 1e-8, 1e-2),
    },
}
SWEEP_ALGOS = tuple(SEARCH_SPACE)  # bc is not swept: its settings are the demonstrations' (docs/training.md)


def suggest(trial: Any, algo: str) -> dict[str, Any]:
    """Sample ``algo``'s search space with an Optuna trial; returns the trial's params (as Optuna stores
    them). Raises KeyError for an algo without a search space."""
    params = {}
    for name, (kind, *args) in SEARCH_SPACE[algo].items():
        if kind == "log":
            params[name] = trial.suggest_float(name, args[0], args[1], log=True)
        elif kind == "float":
            params[name] = trial.suggest_float(name, args[0], args[1])
        else:
            params[name] = trial.suggest_categorical(name, args[0])
    return params


def settings_from_params(params: dict[str, Any]) -> dict[str, Any]:
    """A trial's params as TrainConfig settings (``net_width`` x ``net_depth`` -> ``net_arch``)."""
    settings = {k: v for k, v in params.items() if k not in ("net_width", "net_depth")}
    if "net_width" in params:
        settings["net_arch"] = [int(params["net_width"])] * int(params.get("net_depth", 2))
    return settings


def describe(algo: str) -> list[str]:
    """One line per searched setting of ``algo``, e.g. ``learning_rate: log-uniform in [0.0001, 0.003]``."""
    lines = []
    for name, (kind, *args) in SEARCH_SPACE[algo].items():
        if kind == "log":
            lines.append(f"{name}: log-uniform in [{args[0]:g}, {args[1]:g}]")
        elif kind == "float":
            lines.append(f"{name}: uniform in [{args[0]:g}, {args[1]:g}]")
        else:
            lines.append(f"{name}: one of {', '.join(f'{v:g}' for v in args[0])}")
    return lines
