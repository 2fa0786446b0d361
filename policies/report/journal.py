"""A sweep's trials read from its Optuna journal file (``study.journal``, JournalStorage's append-only
JSON-lines log) with the standard library alone: the operations are replayed as Optuna replays them, so
the page needs neither Optuna nor a lock on the file. The file is untrusted: an operation that does not
fit (unknown code, missing fields, a trial that does not exist) is skipped and counted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Optuna's JournalOperation codes and TrialState values (optuna/storages/journal/_storage.py, trial/_state.py)
CREATE_STUDY, SET_STUDY_USER_ATTR, CREATE_TRIAL, SET_TRIAL_PARAM = 0, 2, 4, 5
SET_TRIAL_STATE_VALUES, SET_TRIAL_INTERMEDIATE_VALUE, SET_TRIAL_USER_ATTR = 6, 7, 8
STATES = {0: "running", 1: "complete", 2: "pruned", 3: "failed", 4: "waiting"}


@dataclass
class Trial:
    """One trial: its number in the study, state name, value (None unless complete), params (external
    values: a categorical's choice, not its index), intermediate values by step, user attributes."""

    number: int
    state: str = "running"
    value: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    intermediate: dict[int, float] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    start: str | None = None
    complete: str | None = None


@dataclass
class Study:
    """The first study in the journal: its name, user attributes and trials in number order."""

    name: str = ""
    user_attrs: dict[str, Any] = field(default_factory=dict)
    trials: list[Trial] = field(default_factory=list)
    skipped: int = 0  # operations that did not fit


def external_value(internal: Any, distribution: Any) -> Any:
    """A param's value as the trial saw it: a categorical's choice by index, an int distribution's int,
    else the number itself. ``distribution``: Optuna's JSON text of the distribution."""
    dist = json.loads(distribution) if isinstance(distribution, str) else distribution
    name = dist.get("name") if isinstance(dist, dict) else None
    attrs = dist.get("attributes", {}) if isinstance(dist, dict) else {}
    if name == "CategoricalDistribution":
        return attrs["choices"][int(internal)]
    if name in ("IntDistribution", "IntUniformDistribution", "IntLogUniformDistribution"):
        return int(internal)
    return internal


def read_study(lines: list[dict[str, Any]]) -> Study:
    """Replay the journal's operations (dicts, in file order) into the first study's trials."""
    study, trials = Study(), {}  # trials: Optuna trial id -> Trial
    names: list[str] = []  # the studies by id, as Optuna numbers them
    next_trial_id = 0
    for op in lines:
        try:
            code = op["op_code"]
            if code == CREATE_STUDY and op["study_name"] not in names:
                names.append(op["study_name"])
                study.name = str(names[0])
            elif code == SET_STUDY_USER_ATTR and op["study_id"] == 0:
                study.user_attrs.update(dict(op["user_attr"]))
            elif code == CREATE_TRIAL and 0 <= op["study_id"] < len(names):
                if op["study_id"] == 0:
                    trials[next_trial_id] = _created(op, len(trials))
                next_trial_id += 1  # trial ids count every study's trials
            elif code not in (CREATE_STUDY, SET_STUDY_USER_ATTR, CREATE_TRIAL):
                _apply(op, code, trials[op["trial_id"]])
            else:
                study.skipped += 1
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            study.skipped += 1
    study.trials = sorted(trials.values(), key=lambda t: t.number)
    return study


def _created(op: dict[str, Any], number: int) -> Trial:
    """A trial from its CREATE_TRIAL operation (an enqueued one carries params and a state)."""
    dists = op.get("distributions") or {}
    params = {k: external_value(v, dists[k]) for k, v in (op.get("params") or {}).items()}
    return Trial(
        number,
        STATES.get(op.get("state", 0), "unknown"),
        op.get("value"),
        params,
        user_attrs=dict(op.get("user_attrs") or {}),
        start=op.get("datetime_start"),
    )


def _apply(op: dict[str, Any], code: Any, trial: Trial) -> None:
    """A trial's later operation: a param, its state and value, an intermediate value, a user attribute."""
    if code == SET_TRIAL_PARAM:
        trial.params[str(op["param_name"])] = external_value(op["param_value_internal"], op["distribution"])
    elif code == SET_TRIAL_STATE_VALUES:
        trial.state = STATES.get(op["state"], "unknown")
        values = op.get("values")
        trial.value = values[0] if isinstance(values, list) and values else trial.value
        trial.complete = op.get("datetime_complete", trial.complete)
    elif code == SET_TRIAL_INTERMEDIATE_VALUE:
        trial.intermediate[int(op["step"])] = op["intermediate_value"]
    elif code == SET_TRIAL_USER_ATTR:
        trial.user_attrs.update(dict(op["user_attr"]))
    elif code not in (1, 3, 9):  # study deletion, system attributes: nothing to show
        raise ValueError(f"unknown operation {code!r}")
