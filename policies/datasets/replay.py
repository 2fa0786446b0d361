"""Replay a robokit-recorded episode in sim (behind ``robokit replay``).

The env is made again from the recording's env id, reset with the episode's recorded seed (reset is
bit-exact), and stepped with the recorded actions; each observation is compared with the recorded one.
Frame t holds the observation before action t, so frame t + 1 is compared after step t.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robokit.policies.datasets.checks import is_int
from robokit.policies.datasets.format import ROBOKIT_KEY, SEED_COLUMN, DatasetError
from robokit.policies.datasets.reader import read_dataset
from robokit.policies.datasets.record import FRAME_HEIGHT, FRAME_WIDTH, OBS_FEATURES, make_env

TOLERANCE = 1e-6  # largest accepted |replayed - recorded| of any observation entry


@dataclass
class ReplayResult:
    env_id: str
    episode: int
    frames: int
    max_deviation: float  # over every observation entry and frame
    worst: str  # "<feature> frame <t>" of the largest deviation
    video: Path | None

    @property
    def reproduced(self) -> bool:
        return self.max_deviation <= TOLERANCE


def recording_settings(dataset: Any, k: int) -> tuple[dict[str, Any], int]:
    """(the robokit entry of info.json, episode k's seed); DatasetError for a dataset robokit did not
    record or an episode without a seed."""
    extra = dataset.info.get(ROBOKIT_KEY)
    if isinstance(extra, dict) and extra.get("source") == "teleop":
        raise DatasetError(f"{dataset.root}: a teleoperation recording has no sim episode; replay it on the arm "
                           "with --port")  # fmt: skip
    if not isinstance(extra, dict) or not isinstance(extra.get("env_id"), str):
        raise DatasetError(f"{dataset.root}: not a robokit recording (meta/info.json has no robokit env_id)")
    from robokit.envs.catalog import unknown_env_message

    if msg := unknown_env_message(extra["env_id"]):
        raise DatasetError(f"{dataset.root}: {msg}")
    where = dataset.root / "meta/info.json"
    if not isinstance(extra.get("render", False), bool):
        raise DatasetError(f"{where}: robokit.render must be true or false, not {extra['render']!r:.40}")
    for key, (low, high), default in (("width", FRAME_WIDTH, 320), ("height", FRAME_HEIGHT, 240)):
        if not is_int(extra.get(key, default), low, high):
            raise DatasetError(
                f"{where}: robokit.{key} must be an integer in {low}..{high}, not {extra[key]!r:.40}"
            )
    seed = dataset.episode_row(k).get(SEED_COLUMN)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DatasetError(f"{dataset.root}: episode {k} has no reset seed ({SEED_COLUMN})")
    return extra, seed


def _deviation(
    obs: dict, frames: dict[str, np.ndarray], t: int, worst: tuple[float, str]
) -> tuple[float, str]:
    for key, name in OBS_FEATURES.items():
        d = float(np.max(np.abs(np.asarray(obs[key], np.float64) - frames[name][t])))
        if d > worst[0] or not np.isfinite(d):
            worst = (d if np.isfinite(d) else float("inf"), f"{name} frame {t}")
    return worst


def check_frames(dataset: Any, k: int, frames: dict[str, np.ndarray]) -> None:
    """DatasetError unless episode ``k`` has the observation features and finite actions, all numeric
    (L, n); a scalar feature (L,) becomes (L, 1) in ``frames``."""
    missing = [n for n in [*OBS_FEATURES.values(), "action"] if n not in frames]
    if missing:
        raise DatasetError(f"{dataset.root}: features {missing} missing; replay needs them")
    for name in [*OBS_FEATURES.values(), "action"]:
        if frames[name].ndim == 1:  # a shape (1,) feature is a scalar column
            frames[name] = frames[name].reshape(-1, 1)
        if frames[name].dtype.kind not in "fiu" or frames[name].ndim != 2:
            ft = dataset.features[name]
            raise DatasetError(
                f"{dataset.root}: {name} is {ft['dtype']} {ft['shape']}; replay needs a vector of numbers"
            )
    bad = np.flatnonzero(~np.isfinite(frames["action"]).all(axis=1))
    if bad.size:
        raise DatasetError(
            f"{dataset.root}: episode {k}: the action of frame {bad[0]} is not finite (NaN or inf)"
        )


def check_video_path(video: str | Path) -> Path:
    """``video`` as a Path if it names an .mp4 file; ValueError otherwise (checked before a replay)."""
    path = Path(video)
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"--video {video}: name an .mp4 file (the replay is written as H.264 mp4)")
    return path


def replay(root: str | Path, episode: int, video: str | Path | None = None) -> ReplayResult:
    """Replay episode ``episode`` of the dataset at ``root``; write an mp4 of it to ``video`` if given.
    DatasetError for a dataset or episode that cannot be replayed (checked before the env is made);
    ValueError for a ``video`` that is not an .mp4 path."""
    if video is not None:
        check_video_path(video)
    dataset = read_dataset(root)
    extra, seed = recording_settings(dataset, episode)
    frames = dataset.episode(episode)
    check_frames(dataset, episode, frames)
    render = video is not None  # rendering, and the goal markers it adds, do not change the physics
    size = (extra.get("width", 320), extra.get("height", 240))
    env = make_env(extra["env_id"], render, *size)
    images: list[np.ndarray] = []
    try:
        if frames["action"].shape[1:] != env.action_space.shape:
            raise DatasetError(
                f"{dataset.root}: actions of shape {frames['action'].shape[1:]} do not fit {extra['env_id']}"
            )
        obs, _ = env.reset(seed=seed)
        for key, name in OBS_FEATURES.items():
            if frames[name].shape[1:] != np.shape(obs[key]):
                raise DatasetError(
                    f"{dataset.root}: {name} of shape {frames[name].shape[1:]} does not fit {extra['env_id']}"
                )
        worst = _deviation(obs, frames, 0, (0.0, "none"))
        length = len(frames["action"])
        for t in range(length):
            if video is not None:
                images.append(env.render())
            obs, *_ = env.step(frames["action"][t])
            if t + 1 < length:
                worst = _deviation(obs, frames, t + 1, worst)
        if video is not None:
            images.append(env.render())
    finally:
        env.close()
    written = None
    if video is not None:
        from robokit.policies.video import write_mp4

        written = write_mp4(video, images, fps=dataset.fps)
    return ReplayResult(extra["env_id"], episode, length, worst[0], worst[1], written)
