"""Read any LeRobotDataset v3.0: metadata and tables with pyarrow, camera frames with imageio-ffmpeg.

A dataset folder is untrusted input: every file is checked as it is read (JSON shape, codebase version,
columns, episode boundaries, path templates that stay inside the folder), and a fault is one
``DatasetError`` naming the file. Frames of an episode come back as numpy arrays, one per feature.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from robokit.policies.datasets.format import (
    CODEBASE_VERSION,
    EPISODE_COLUMNS,
    EPISODES_DIR,
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    DatasetError,
    inside,
)

MAX_JSON_BYTES = 16 * 1024 * 1024


def _json(root: Path, relative: str, required: bool = True) -> Any:
    path = root / relative
    if not path.is_file():
        if required:
            raise DatasetError(f"{root}: {relative} is missing (not a LeRobotDataset folder?)")
        return None
    if path.stat().st_size > MAX_JSON_BYTES:
        raise DatasetError(f"{path}: larger than {MAX_JSON_BYTES // 2**20} MiB")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None


def _table(path: Path, columns: list[str] | None = None) -> Any:
    """A Parquet file as a pyarrow Table; DatasetError for a missing, truncated or foreign file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise DatasetError(f"{path} is missing")
    try:
        return pq.read_table(str(path), columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(f"{path}: not a readable Parquet file ({' '.join(str(exc).split())})") from None


def check_info(info: Any, where: Path) -> dict[str, Any]:
    """info.json's fields robokit relies on; DatasetError naming the first bad one."""
    if not isinstance(info, dict):
        raise DatasetError(f"{where}: not a JSON object")
    version = info.get("codebase_version")
    if version != CODEBASE_VERSION:
        raise DatasetError(f"{where}: codebase_version is {version!r}; robokit reads {CODEBASE_VERSION!r}")
    fps = info.get("fps")
    if (
        isinstance(fps, bool)
        or not isinstance(fps, (int, float))
        or not (0 < fps <= 10000 and math.isfinite(fps))
    ):
        raise DatasetError(f"{where}: fps must be a number in (0, 10000], not {fps!r}")
    for key in ("total_episodes", "total_frames"):
        if isinstance(info.get(key), bool) or not isinstance(info.get(key), int) or info[key] < 0:
            raise DatasetError(f"{where}: {key} must be an integer >= 0, not {info.get(key)!r}")
    if not isinstance(info.get("data_path"), str):
        raise DatasetError(f"{where}: data_path must be a path template")
    features = info.get("features")
    if not isinstance(features, dict) or not features:
        raise DatasetError(f"{where}: features must be a non-empty object")
    for name, ft in features.items():
        shape = ft.get("shape") if isinstance(ft, dict) else None
        if not isinstance(ft, dict) or not isinstance(ft.get("dtype"), str) or not isinstance(shape, list):
            raise DatasetError(f"{where}: feature {name!r} needs a dtype and a shape list")
        if not shape or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
            raise DatasetError(f"{where}: feature {name!r} has a bad shape {shape!r}")
    if any(ft["dtype"] == "video" for ft in features.values()) and not isinstance(
        info.get("video_path"), str
    ):
        raise DatasetError(f"{where}: video features need a video_path template")
    return info


class LeRobotDatasetReader:
    """A v3.0 dataset folder, checked on open: ``info``, ``stats`` (or None), ``tasks`` (task_index ->
    text), ``episodes`` (one dict per episode, in order). ``episode(k)`` reads one episode's frames."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: no such dataset folder")
        self.info = check_info(_json(self.root, INFO_PATH), self.root / INFO_PATH)
        self.fps = float(self.info["fps"])
        self.features: dict[str, dict[str, Any]] = self.info["features"]
        self.stats = _json(self.root, STATS_PATH, required=False)
        self.tasks = self._read_tasks()
        self.episodes = self._read_episodes()

    @property
    def video_keys(self) -> list[str]:
        return [k for k, ft in self.features.items() if ft["dtype"] == "video"]

    def _read_tasks(self) -> dict[int, str]:
        table = _table(self.root / TASKS_PATH)
        names = table.column_names
        text = next((c for c in ("task", "__index_level_0__") if c in names), None)
        if "task_index" not in names or text is None:
            raise DatasetError(f"{self.root / TASKS_PATH}: needs task_index and task columns, has {names}")
        return dict(zip(table.column("task_index").to_pylist(), table.column(text).to_pylist()))

    def _read_episodes(self) -> list[dict[str, Any]]:
        import pyarrow as pa

        files = sorted((self.root / EPISODES_DIR).glob("chunk-*/file-*.parquet"))
        if not files:
            raise DatasetError(f"{self.root}: no episode tables in {EPISODES_DIR}/")
        tables = [_table(f) for f in files]
        for f, t in zip(files, tables):
            missing = [c for c in EPISODE_COLUMNS if c not in t.column_names]
            if missing:
                raise DatasetError(f"{f}: missing column(s) {missing}")
        keep = [c for c in tables[0].column_names if not c.startswith("stats/")]
        try:
            rows = pa.concat_tables([t.select(keep) for t in tables]).to_pylist()
        except (pa.ArrowException, KeyError) as exc:
            raise DatasetError(f"{self.root / EPISODES_DIR}: episode tables disagree ({exc})") from None
        rows.sort(key=lambda r: r["episode_index"])
        self._check_boundaries(rows)
        return rows

    def _check_boundaries(self, rows: list[dict[str, Any]]) -> None:
        where = self.root / EPISODES_DIR
        if [r["episode_index"] for r in rows] != list(range(len(rows))):
            raise DatasetError(f"{where}: episode_index must run 0..{len(rows) - 1} without gaps")
        if len(rows) != self.info["total_episodes"]:
            raise DatasetError(f"{where}: {len(rows)} episodes, info.json says {self.info['total_episodes']}")
        start = 0
        for r in rows:
            if (
                r["dataset_from_index"] != start
                or r["dataset_to_index"] - start != r["length"]
                or r["length"] < 1
            ):
                raise DatasetError(f"{where}: episode {r['episode_index']} has inconsistent boundaries")
            start = r["dataset_to_index"]
        if start != self.info["total_frames"]:
            raise DatasetError(
                f"{where}: episodes hold {start} frames, info.json says {self.info['total_frames']}"
            )

    def data_file(self, k: int) -> Path:
        """The Parquet file that holds episode ``k``."""
        ep = self.episode_row(k)
        template = self.info["data_path"]
        try:
            relative = template.format(chunk_index=ep["data/chunk_index"], file_index=ep["data/file_index"])
        except (KeyError, IndexError, ValueError) as exc:
            raise DatasetError(f"{self.root / INFO_PATH}: bad data_path {template!r} ({exc})") from None
        return inside(self.root, relative, "data_path")

    def episode_row(self, k: int) -> dict[str, Any]:
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < len(self.episodes):
            raise DatasetError(f"{self.root}: no episode {k!r}; it has episodes 0..{len(self.episodes) - 1}")
        return self.episodes[k]

    def episode(self, k: int) -> dict[str, np.ndarray]:
        """Episode ``k``'s frames: every non-video feature as an array (L,) or (L, n), in frame order.
        DatasetError when the data file misses a feature or frames of the episode."""
        import pyarrow.compute as pc

        ep, path = self.episode_row(k), self.data_file(k)
        table = _table(path)
        keys = [name for name, ft in self.features.items() if ft["dtype"] != "video"]
        missing = [name for name in [*keys, "episode_index", "frame_index"] if name not in table.column_names]
        if missing:
            raise DatasetError(f"{path}: missing column(s) {sorted(set(missing))}")
        table = table.filter(pc.equal(table.column("episode_index"), k))
        table = table.sort_by("frame_index")
        if table.num_rows != ep["length"] or table.column("frame_index").to_pylist() != list(
            range(ep["length"])
        ):
            raise DatasetError(f"{path}: episode {k} should have frames 0..{ep['length'] - 1}")
        out = {}
        for name in keys:
            values = table.column(name).to_pylist()
            out[name] = np.asarray(values, dtype=np.dtype(self.features[name]["dtype"]))
        return out

    def video_frames(self, key: str, k: int) -> np.ndarray:
        """Episode ``k``'s frames of camera feature ``key`` as (L, H, W, 3) uint8, decoded with
        imageio-ffmpeg. DatasetError for an unknown key, a missing or short video file."""
        from robokit.policies.datasets.video import read_episode_frames

        if key not in self.video_keys:
            raise DatasetError(f"{self.root}: no video feature {key!r}; it has {self.video_keys}")
        ep = self.episode_row(k)
        try:
            relative = self.info["video_path"].format(
                video_key=key,
                chunk_index=ep[f"videos/{key}/chunk_index"],
                file_index=ep[f"videos/{key}/file_index"],
            )
            start_s = float(ep[f"videos/{key}/from_timestamp"])
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise DatasetError(
                f"{self.root / EPISODES_DIR}: episode {k} lacks video columns of {key} ({exc})"
            ) from None
        path = inside(self.root, relative, "video_path")
        first = int(round(start_s * self.fps))
        return read_episode_frames(path, first, ep["length"])


def read_dataset(root: str | Path) -> LeRobotDatasetReader:
    """Open and check a LeRobotDataset v3.0 folder; DatasetError (one line) if it is not one."""
    return LeRobotDatasetReader(root)
