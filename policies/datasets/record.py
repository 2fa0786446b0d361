"""Record an expert's episodes of an env as a LeRobotDataset v3.0 (behind ``robokit record``).

A frame holds what the policy saw and did: ``observation.state`` (the env's ``observation`` vector),
``observation.achieved_goal``, ``observation.desired_goal``, the ``action`` taken, and what followed it:
``next.reward``, ``next.done`` (terminated or truncated), ``next.success`` (LeRobot's names). Episode ``i``
resets with seed ``seed + i``; the seed and the env id are stored so ``replay`` can redo the episode.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robokit.core.signals import signals_held
from robokit.policies.datasets.format import INFO_PATH, DatasetError
from robokit.policies.datasets.writer import DatasetWriter

# camera name -> Bullet.render overrides of the robot folder's camera ("front" is that camera unchanged)
VIEWS: dict[str, dict[str, float]] = {
    "front": {},
    "side": {"yaw_deg": 90.0, "pitch_deg": -15.0},
    "top": {"yaw_deg": 90.0, "pitch_deg": -89.0},
}
OBS_FEATURES = {"observation": "observation.state", "achieved_goal": "observation.achieved_goal"}
OBS_FEATURES["desired_goal"] = "observation.desired_goal"
FRAME_WIDTH, FRAME_HEIGHT = (
    (16, 1920),
    (16, 1080),
)  # camera frame sizes, px (robokit record's --width/--height)


class RecordError(ValueError):
    """A bad record request (unknown camera, env without an expert, an output folder in the way)."""


class RecordStopped(KeyboardInterrupt):
    """``record``'s ``stop()`` said to stop (a signal the caller noted): handled like Ctrl-C."""


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
    for what, value, (low, high) in (("width", width, FRAME_WIDTH), ("height", height, FRAME_HEIGHT)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise RecordError(f"frame {what} must be an integer in {low}..{high}, not {value!r}")
    if width % 2 or height % 2:
        raise RecordError(f"frame size {width}x{height}: width and height must be even (H.264 yuv420p)")


def check_out(out: Path, overwrite: bool) -> None:
    """RecordError when ``out`` cannot take the dataset: a file; the filesystem root, the home folder, a
    mount point or a folder that holds the current directory (it cannot be moved aside); a non-empty
    folder without ``overwrite``, or with it when the folder is not a LeRobot dataset (no meta/info.json:
    --overwrite never deletes other files)."""
    if out.exists() and not out.is_dir():
        raise RecordError(f"--out {out} is a file; name a folder")
    try:
        where, cwd = out.resolve(), Path.cwd().resolve()
    except (OSError, RuntimeError) as exc:
        raise RecordError(f"--out {out}: not a usable path ({exc})") from None
    if where == Path(where.anchor) or where == Path.home().resolve() or os.path.ismount(where):
        raise RecordError(
            f"--out {out} is {where}, a root, home or mount folder; name a folder for the dataset"
        )
    if cwd.is_relative_to(where):
        raise RecordError(f"--out {out} holds the current directory; name a folder beside or below it")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise RecordError(f"--out {out} is not empty; pass --overwrite to replace it")
        if not (out / INFO_PATH).is_file():
            raise RecordError(
                f"--out {out} is not empty and not a LeRobot dataset (no {INFO_PATH}); "
                "--overwrite only replaces a dataset: name a new or empty folder"
            )


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


def run_episode(
    env: Any, expert: Any, seed: int, cameras: dict[str, dict], stop: Callable[[], bool] = bool
) -> tuple[dict, dict]:
    """One episode to termination or the time limit: (frames by feature, images by camera). RecordStopped
    as soon as ``stop()`` is true (asked before every step)."""
    rows: dict[str, list] = {
        name: [] for name in [*OBS_FEATURES.values(), "action", "next.reward", "next.done", "next.success"]
    }
    images: dict[str, list] = {name: [] for name in cameras}
    obs, _ = env.reset(seed=seed)
    done = False
    while not done:
        if stop():
            raise RecordStopped
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
    stop: Callable[[], bool] = bool,
) -> RecordResult:
    """Record ``episodes`` expert episodes of ``env_id`` into ``out``. Everything is checked before a file is
    written; the dataset is built in a temporary folder beside ``out`` and moved into place at the end, so
    a failed or interrupted run (KeyboardInterrupt, or RecordStopped once ``stop()`` is true: a caller's
    signal handler sets what it returns) leaves ``out`` as it was. RecordError for a bad request."""
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
        tmp: Path | None = _temporary_folder(out)
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
            seeds = range(seed, seed + episodes)
            successes = _record_episodes(writer, env, expert, seeds, views, progress, stop)
            writer.close()
            try:
                _move_into_place(tmp, out)
            except DatasetError:
                tmp = None  # the recording is kept there; the message says where
                raise
        finally:
            if tmp is not None:
                with signals_held():  # a second signal must not leave half a folder
                    shutil.rmtree(tmp, ignore_errors=True)
    finally:
        env.close()
    return RecordResult(out, episodes, writer.total_frames, successes)


def _record_episodes(
    writer: DatasetWriter,
    env: Any,
    expert: Any,
    seeds: range,
    views: dict[str, dict],
    progress: bool,
    stop: Callable[[], bool],
) -> int:
    """One episode per seed into ``writer``; returns how many ended in success. On any exception the
    writer's files are closed first (``abort``), so no encoder still writes when the folder is removed."""
    from robokit.console import progress_bar

    successes = 0
    try:
        with progress_bar(len(seeds), "record", "episodes", enabled=progress) as bar:
            for s in seeds:
                frames, images = run_episode(env, expert, s, views, stop)
                writer.add_episode(frames, images, seed=s)
                successes += bool(frames["next.success"][-1])
                bar.update(1)
    except BaseException:
        writer.abort()
        raise
    return successes


def _temporary_folder(out: Path) -> Path:
    """A new hidden folder beside ``out`` to record into; RecordError if none can be made there."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.recording-", dir=out.parent))
    except OSError as exc:
        raise RecordError(
            f"--out {out}: cannot make a folder in {out.parent} ({exc.strerror or exc})"
        ) from None


def _move_into_place(tmp: Path, out: Path) -> None:
    """Replace ``out`` by ``tmp``: the old folder is moved aside first and removed only after the move.
    DatasetError if a rename fails: ``out`` is put back and the recording stays in ``tmp``."""
    with signals_held():
        old = None
        try:
            if out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                os.rename(out, old / "dataset")
            os.rename(tmp, out)
        except OSError as exc:
            kept = f"the recording is kept in {tmp}"
            if old is not None and (old / "dataset").exists():
                try:
                    os.rename(old / "dataset", out)
                except OSError:
                    kept += f", the old {out} is in {old / 'dataset'}"
            if old is not None:
                with contextlib.suppress(OSError):
                    old.rmdir()  # only when empty
            raise DatasetError(
                f"could not move the recording into {out} ({exc.strerror or exc}); {kept}"
            ) from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
