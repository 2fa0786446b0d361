"""A training run's checkpoints: RUN/checkpoints/step-<N>/ {model.zip, replay_buffer.pkl,
vecnormalize.pkl, state.json}, written to a temp folder then renamed; ``latest`` names the newest
complete one. Also what a resume reads back (config.yaml, state.json) and when it has nothing to do."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robokit.core import run_files as rf
from robokit.policies.config import TrainConfig
from robokit.policies.policy_file import write_atomic

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecNormalize


class RunExistsError(FileExistsError):
    """``--out`` already holds a run and ``resume`` was not asked for."""


class ResumeError(ValueError):
    """``resume`` was asked for, but the run has no checkpoint or was trained on another env."""


def save_checkpoint(run: Path, model: Any, venv: VecNormalize | None, state: dict, keep: int) -> Path:
    """Write a complete checkpoint to a temp folder, rename it into place, then point ``latest`` at it."""
    ckpts = run / rf.CHECKPOINTS_DIR
    name = f"step-{model.num_timesteps:09d}"
    tmp = ckpts / f".tmp-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp / rf.CHECKPOINT_MODEL_FILE)
    if hasattr(model, "replay_buffer") and model.replay_buffer is not None:
        model.save_replay_buffer(tmp / rf.CHECKPOINT_REPLAY_FILE)
    if venv is not None:
        venv.save(str(tmp / rf.CHECKPOINT_VECNORMALIZE_FILE))
    write_atomic(tmp / rf.CHECKPOINT_STATE_FILE, json.dumps(state).encode())
    final = ckpts / name
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    write_atomic(ckpts / rf.LATEST_CHECKPOINT_FILE, name.encode())
    for old in sorted(p for p in ckpts.glob("step-*") if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(run: Path) -> Path | None:
    """The newest complete checkpoint folder (temp folders of an interrupted save are ignored)."""
    ckpts = run / rf.CHECKPOINTS_DIR
    pointer = ckpts / rf.LATEST_CHECKPOINT_FILE
    if pointer.is_file() and (ckpts / pointer.read_text().strip() / rf.CHECKPOINT_STATE_FILE).is_file():
        return ckpts / pointer.read_text().strip()
    done = sorted(p for p in ckpts.glob("step-*") if (p / rf.CHECKPOINT_STATE_FILE).is_file())
    return done[-1] if done else None


def saved_config(run: Path) -> TrainConfig:
    """The run's config.yaml. Raises ResumeError if it cannot be read."""
    try:
        return TrainConfig.load_yaml(run / rf.CONFIG_FILE)
    except Exception as exc:  # YAML syntax, not a mapping, unknown keys, wrong types
        text = " ".join(str(exc).split())[:200]
        raise ResumeError(f"{run / rf.CONFIG_FILE} cannot be read ({type(exc).__name__}: {text})") from None


def checkpoint_state(ckpt: Path) -> dict[str, Any]:
    """A checkpoint's state.json ({"steps": int, "train_time_s": float, ...}). Raises ResumeError."""
    try:
        state = json.loads((ckpt / rf.CHECKPOINT_STATE_FILE).read_text())
        if not isinstance(state.get("steps"), int) or state["steps"] < 0:
            raise ValueError("no whole number of steps")
        state["train_time_s"] = float(state.get("train_time_s", 0.0))
        return state
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise ResumeError(
            f"{ckpt / rf.CHECKPOINT_STATE_FILE} cannot be read ({exc}); the checkpoint is damaged"
        ) from None


def nothing_to_do(run: Path, steps: int) -> str | None:
    """Why resuming ``run`` to ``steps`` total env steps would change nothing, or None: its last checkpoint
    is already at ``steps`` or beyond, or it stopped early with the task solved and ``steps`` is its own
    budget (a larger ``steps`` continues it)."""
    ckpt = latest_checkpoint(run)
    if ckpt is None:
        return None
    state = checkpoint_state(ckpt)
    done = state["steps"]
    if done >= steps:
        return f"{run} has already trained {done} steps (asked: {steps}); pass a larger --steps to train on"
    budget = saved_config(run).steps if (run / rf.CONFIG_FILE).is_file() else None
    if state.get("solved") and steps == budget:
        return (
            f"{run} stopped at {done} steps with the task solved (its evaluations reached the stop rate); "
            "pass a larger --steps to train on"
        )
    return None


def truncate_evals(run: Path, steps: int) -> None:
    """Drop evaluation rows written after the checkpoint we resume from (they will be redone)."""
    path = run / rf.EVALS_FILE
    if path.is_file():
        rows = [r for r in path.read_text().splitlines() if r.strip() and json.loads(r)["steps"] <= steps]
        write_atomic(path, "".join(r + "\n" for r in rows).encode())
