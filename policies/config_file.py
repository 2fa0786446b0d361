"""A training config file (``robokit train --config FILE``, and what ``robokit sweep`` writes): YAML or
JSON holding ``TrainConfig`` fields. The file is untrusted input: its size, its syntax, every key, every
value's type and the tuned settings' ranges are checked before anything runs (``ConfigFileError``, one
line). Ranges training itself enforces (steps, seed, net_arch, ...) are ``check_config``'s, at train time.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from robokit.paths import read_small_file
from robokit.policies.config import ALGOS, MAX_ENVS, SEED_MAX, TrainConfig

MAX_CONFIG_BYTES = 64 * 1024
# fields a config file may not set: the run folder is ``--out`` and progress is the terminal's business
NOT_IN_FILE = ("out", "progress")
# (low, high, low included): a value outside is refused in one line. The tuned settings, and every count
# that sizes memory or processes (a file asking for 10^6 env processes or a 10^9-transition buffer must not
# get to fork or allocate them)
RANGES: dict[str, tuple[float, float, bool]] = {
    "n_envs": (1, MAX_ENVS, True),
    "steps": (1, 10_000_000_000, True),
    "eval_every": (1, 10_000_000_000, True),
    "eval_episodes": (1, 1_000_000, True),
    "eval_seed": (0, SEED_MAX, True),  # gymnasium refuses a negative seed (at the first evaluation)
    "seed": (0, SEED_MAX, True),
    "checkpoint_every": (1, 10_000_000_000, True),
    "keep_checkpoints": (1, 1_000, True),
    "stop_success_rate": (0.0, 1.0, False),
    "demo_episodes": (1, 100_000, True),
    "learning_rate": (0.0, 1.0, False),
    "gamma": (0.0, 1.0, False),
    "tau": (0.0, 1.0, False),
    "batch_size": (1, 65_536, True),
    "buffer_size": (1, 5_000_000, True),
    "learning_starts": (0, 100_000_000, True),
    "train_freq": (1, 1_000_000, True),
    "gradient_steps": (1, 1_000, True),
    "action_noise_std": (0.0, 10.0, True),
    "her_n_sampled_goal": (1, 64, True),
    "n_steps": (1, 65_536, True),
    "n_epochs": (1, 1_000, True),
    "ent_coef": (0.0, 10.0, True),
    "clip_obs": (0.0, 1e6, False),
    "torch_threads": (1, 256, True),
    "stop_patience": (1, 1_000_000, True),
    "action_change_penalty": (0.0, 100.0, True),
}


class ConfigFileError(ValueError):
    """A config file that cannot be read or holds something TrainConfig does not take."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


# TrainConfig's annotations (strings: ``from __future__ import annotations``) -> (check, what it wants)
_TYPES: dict[str, tuple[Any, str]] = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "str | None": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "int": (_is_int, "a whole number"),
    "float": (_is_number, "a finite number"),
    "float | None": (lambda v: v is None or _is_number(v), "a finite number or null"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "list[int]": (lambda v: isinstance(v, list) and all(_is_int(h) for h in v), "a list of whole numbers"),
}


def check_value(name: str, value: Any) -> Any:
    """``value`` for TrainConfig field ``name`` if its type and range fit; raises ConfigFileError."""
    kinds = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}
    if name not in kinds:
        raise ConfigFileError(f"unknown setting {name!r}")
    ok, want = _TYPES[kinds[name]]
    if not ok(value):
        raise ConfigFileError(f"{name} must be {want}, not {value!r}")
    if name == "algo" and value not in ALGOS:
        raise ConfigFileError(f"algo must be one of {', '.join(ALGOS)}, not {value!r}")
    if name in RANGES and value is not None:
        lo, hi, lo_in = RANGES[name]
        if not ((value >= lo if lo_in else value > lo) and value <= hi):
            raise ConfigFileError(f"{name} must be in {'[' if lo_in else '('}{lo:g}, {hi:g}], not {value!r}")
    return float(value) if kinds[name].startswith("float") and value is not None else value


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings in ``path`` (YAML or JSON: a mapping of TrainConfig fields to values), checked.
    Raises ConfigFileError for a missing, unreadable, too large or malformed file, a key TrainConfig does
    not have (or ``out``/``progress``), or a value of the wrong type or out of range."""
    import yaml

    p = Path(path)
    try:
        if not p.is_file():
            raise ConfigFileError(f"{path}: no such file" if not p.exists() else f"{path} is not a file")
        if p.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigFileError(f"{path} is larger than {MAX_CONFIG_BYTES // 1024} KiB; not a config file")
        text = read_small_file(p, MAX_CONFIG_BYTES, "config file")  # bounded, never blocks on a FIFO
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"cannot read {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)  # JSON is YAML too
    except RecursionError:
        raise ConfigFileError(f"{path} is nested too deeply to be a config file") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise ConfigFileError(f"{path} is not valid YAML or JSON{line}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ConfigFileError(f"{path} must hold a mapping of setting names to values")
    settings = {}
    for name, value in data.items():
        if name in NOT_IN_FILE:
            raise ConfigFileError(f"{path}: {name!r} is not a file setting (give --out on the command line)")
        try:
            settings[name] = check_value(name, value)
        except ConfigFileError as exc:
            raise ConfigFileError(f"{path}: {exc}") from None
    return settings


def write_config_file(path: str | Path, config: TrainConfig) -> None:
    """``config`` as YAML that ``read_config_file`` takes (without ``out`` and ``progress``); written to a
    temp file, then renamed into place."""
    import os

    import yaml

    d = {k: v for k, v in config.to_dict().items() if k not in NOT_IN_FILE}
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(yaml.safe_dump(d, sort_keys=False))
    os.replace(tmp, p)
