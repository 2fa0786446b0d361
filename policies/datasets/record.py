"""Record an expert's episodes of an env as a LeRobotDataset v3.0 (behind ``robokit record``).

A frame holds what the policy saw and did: ``observation.state`` (the env's ``observation`` vector),
``observation.achieved_goal``, ``observation.desired_goal``, the ``action`` taken, and what followed it:
``next.reward``, ``next.done`` (terminated or truncated), ``next.success`` (LeRobot's names). Episode ``i``
resets with seed ``seed + i``; the seed and the env id are stored so ``replay`` can redo the episode.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robokit.policies.datasets.format import DatasetError
from robokit.policies.datasets.writer import DatasetWriter

# camera name -> Bullet.render overrides of the robot folder's camera ("front" is that camera unchanged)
VIEWS: dict[str, dict[str, float]] = {
    "front": {},
    "side": {"yaw_deg": 90.0, "pitch_deg": -15.0},
    "top": {"yaw_deg": 90.0, "pitch_deg": -89.0},
}
OBS_FEATURES = {"observation": "observation.state", "achieved_goal": "observation.achieved_goal"}
OBS_FEATURES["desired_goal"] = "observation.desired_goal"


class RecordError(ValueError):
    """A bad record request (unknown camera, env without an expert, an output folder in the way)."""


@dataclass
class RecordResult:
    root: Path
    episodes: int
    frames: int
    successes: int


def check_cameras(cameras: list[str], width: int, height: int) -> None:
    """RecordError for an unknown camera name, a repeated one, or an odd frame size (yuv420p needs even)."""
    unknown = [c for c in cameras if c not in VIEWS]
    if unknown:
        raise RecordError(f"unknown camera {unknown[0]!r}; cameras: {', '.join(VIEWS)}")
    if len(set(cameras)) != len(cameras):
        raise RecordError(f"camera named twice: {cameras}")
    if width % 2 or height % 2:
        raise RecordError(f"frame size {width}x{height}: width and height must be even (H.264 yuv420p)")


def check_out(out: Path, overwrite: bool) -> None:
    """RecordError when ``out`` is a file, or a non-empty folder and ``overwrite`` is not given."""
    if out.exists() and not out.is_dir():
        raise RecordError(f"--out {out} is a file; name a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise RecordError(f"--out {out} is not empty; pass --overwrite to replace it")


def features_of(env: Any) -> dict[str, dict[str, Any]]:
    """The recorded features of an env (dtype, shape), from its spaces."""
    spaces = env.observation_space.spaces
    feats = {
        name: {"dtype": "float32", "shape": [int(spaces[key].shape[0])]} for key, name in OBS_FEATURES.items()
    }
    feats["action"] = {"dtype": "float32", "shape": [int(env.action_space.shape[0])]}
    feats["next.reward"] = {"dtype": "float32", "shape": [1]}
    feats["next.done"] = {"dtype": "bool", "shape": [1]}
    feats["next.success"] = {"dtype": "bool", "shape": [1]}
    return feats


def run_episode(env: Any, expert: Any, seed: int, cameras: dict[str, dict]) -> tuple[dict, dict]:
    """One episode to termination or the time limit: (frames by feature, images by camera)."""
    rows: dict[str, list] = {
        name: [] for name in [*OBS_FEATURES.values(), "action", "next.reward", "next.done", "next.success"]
    }
    images: dict[str, list] = {name: [] for name in cameras}
    obs, _ = env.reset(seed=seed)
    done = False
    while not done:
        for name, view in cameras.items():
            env.unwrapped.camera = view
            images[name].append(env.render())
        action = np.asarray(expert.act(obs), dtype=np.float32)
        for key, name in OBS_FEATURES.items():
            rows[name].append(np.asarray(obs[key], dtype=np.float32))
        obs, reward, terminated, truncated, info = env.step(action)
        done = bool(terminated or truncated)
        rows["action"].append(action)
        rows["next.reward"].append(reward)
        rows["next.done"].append(done)
        rows["next.success"].append(bool(info.get("is_success", False)))
    return {k: np.asarray(v) for k, v in rows.items()}, {k: np.stack(v) for k, v in images.items()}


def make_env(env_id: str, render: bool, width: int = 320, height: int = 240) -> Any:
    """The env of a recording; rendering only when a camera (or a replay video) needs it."""
    import gymnasium as gym

    import robokit.envs  # noqa: F401  (registers the ids)

    kwargs = {"render_mode": "rgb_array", "render_width": width, "render_height": height} if render else {}
    return gym.make(env_id, **kwargs)


def record(
    env_id: str,
    out: str | Path,
    episodes: int,
    cameras: list[str] | None = None,
    seed: int = 0,
    width: int = 320,
    height: int = 240,
    overwrite: bool = False,
    progress: bool = True,
) -> RecordResult:
    """Record ``episodes`` expert episodes of ``env_id`` into ``out``. Everything is checked before a file is
    written; the dataset is built in a temporary folder beside ``out`` and moved into place at the end, so
    a failed or interrupted run leaves ``out`` as it was. RecordError for a bad request."""
    from robokit.console import progress_bar
    from robokit.policies.experts import NoExpertError, expert_for

    cameras = list(cameras or [])
    check_cameras(cameras, width, height)
    out = Path(out)
    check_out(out, overwrite)
    env = make_env(env_id, bool(cameras), width, height)
    try:
        try:
            expert = expert_for(env)
        except NoExpertError as exc:
            raise RecordError(f"{env_id}: {exc}") from None
        base = env.unwrapped
        views = {name: {**base.camera, **VIEWS[name]} for name in cameras}
        extra = {"env_id": env_id, "render": bool(cameras), "cameras": views, "expert": type(expert).__name__}
        extra.update(width=width, height=height)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.recording-", dir=out.parent))
        try:
            writer = DatasetWriter(
                tmp,
                fps=int(round(base.robot.control_hz)),
                features=features_of(env),
                task=f"{env_id}: expert demonstration",
                cameras={name: (height, width) for name in cameras},
                robot_type=base.robot.name,
                extra=extra,
            )
            successes = 0
            with progress_bar(episodes, "record", "episodes", enabled=progress) as bar:
                for i in range(episodes):
                    frames, images = run_episode(env, expert, seed + i, views)
                    writer.add_episode(frames, images, seed=seed + i)
                    successes += bool(frames["next.success"][-1])
                    bar.update(1)
            writer.close()
            _move_into_place(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        env.close()
    return RecordResult(out, episodes, writer.total_frames, successes)


def _move_into_place(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp``: the old folder is moved aside first and removed only after the move."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "dataset")
    try:
        os.rename(tmp, out)
    except OSError as exc:
        if old is not None:
            os.rename(old / "dataset", out)
        raise DatasetError(f"could not move the recording into {out}: {exc}") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
