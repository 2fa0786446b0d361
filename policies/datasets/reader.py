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

from robokit.policies.datasets.checks import (
    DATA_FIELDS,
    MAX_COUNT,
    VIDEO_FIELDS,
    check_episode_row,
    check_feature,
    check_template,
    column_array,
    is_int,
    video_location,
)
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
    except RecursionError:
        raise DatasetError(f"{path}: nested too deeply to be dataset metadata") from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, a number too long to convert
        raise DatasetError(f"{path}: not valid JSON ({' '.join(str(exc).split())[:200]})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None


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
        if not is_int(info.get(key)):
            raise DatasetError(f"{where}: {key} must be an integer in 0..{MAX_COUNT}, not {info.get(key)!r}")
    check_template(info.get("data_path"), DATA_FIELDS, "data_path", where)
    features = info.get("features")
    if not isinstance(features, dict) or not features:
        raise DatasetError(f"{where}: features must be a non-empty object")
    for name, ft in features.items():
        check_feature(name, ft, where)
    if any(ft["dtype"] == "video" for ft in features.values()):
        check_template(info.get("video_path"), VIDEO_FIELDS, "video_path", where)
    return info


class LeRobotDatasetReader:
    """A v3.0 dataset folder, checked on open: ``info``, ``stats`` (or None), ``tasks`` (task_index ->
    text), ``episodes`` (one dict per episode, in order). ``episode(k)`` reads one episode's frames."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            what = "is a file, not a dataset folder" if self.root.exists() else "no such dataset folder"
            raise DatasetError(f"{self.root}: {what}")
        self.info = check_info(_json(self.root, INFO_PATH), self.root / INFO_PATH)
        self.fps = float(self.info["fps"])
        self.features: dict[str, dict[str, Any]] = self.info["features"]
        self.stats = _json(self.root, STATS_PATH, required=False)
        if self.stats is not None and not isinstance(self.stats, dict):
            raise DatasetError(f"{self.root / STATS_PATH}: not a JSON object")
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
        tasks = dict(zip(table.column("task_index").to_pylist(), table.column(text).to_pylist()))
        if not all(is_int(i) and isinstance(t, str) for i, t in tasks.items()) or len(tasks) != len(table):
            raise DatasetError(
                f"{self.root / TASKS_PATH}: task_index must be distinct integers >= 0, task text"
            )
        return tasks

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
        for row in rows:
            check_episode_row(row, self.root / EPISODES_DIR)
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
            if r["dataset_from_index"] != start or r["dataset_to_index"] - start != r["length"]:
                raise DatasetError(f"{where}: episode {r['episode_index']} has inconsistent boundaries")
            start = r["dataset_to_index"]
        if start != self.info["total_frames"]:
            raise DatasetError(
                f"{where}: episodes hold {start} frames, info.json says {self.info['total_frames']}"
            )

    def data_file(self, k: int) -> Path:
        """The Parquet file that holds episode ``k``."""
        ep = self.episode_row(k)
        relative = self.info["data_path"].format(
            chunk_index=ep["data/chunk_index"], file_index=ep["data/file_index"]
        )  # both checked: a plain template (check_info), integers >= 0 (check_episode_row)
        return inside(self.root, relative, "data_path")

    def episode_row(self, k: int) -> dict[str, Any]:
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < len(self.episodes):
            raise DatasetError(f"{self.root}: no episode {k!r}; it has episodes 0..{len(self.episodes) - 1}")
        return self.episodes[k]

    def episode(self, k: int) -> dict[str, np.ndarray]:
        """Episode ``k``'s frames: every numeric feature as an array (L,) for shape (1,) or (L, *shape) of
        its dtype, a "string" feature as str objects, in frame order ("image" and "video" features are not
        decoded here). DatasetError when the data file misses a feature or frames of the episode, or a
        column's values do not have the feature's type and shape."""
        import pyarrow as pa
        import pyarrow.compute as pc

        ep, path = self.episode_row(k), self.data_file(k)
        table = _table(path)
        keys = [name for name, ft in self.features.items() if ft["dtype"] not in ("video", "image")]
        missing = [name for name in [*keys, "episode_index", "frame_index"] if name not in table.column_names]
        if missing:
            raise DatasetError(f"{path}: missing column(s) {sorted(set(missing))}")
        for name in ("episode_index", "frame_index"):
            if not pa.types.is_integer(table.schema.field(name).type):
                raise DatasetError(
                    f"{path}: column {name!r} holds {table.schema.field(name).type}, not integers"
                )
        table = table.filter(pc.equal(table.column("episode_index"), k))
        table = table.sort_by("frame_index")
        if table.num_rows != ep["length"] or table.column("frame_index").to_pylist() != list(
            range(ep["length"])
        ):
            raise DatasetError(f"{path}: episode {k} should have frames 0..{ep['length'] - 1}")
        return {name: column_array(table.column(name), name, self.features[name], path) for name in keys}

    def video_frames(self, key: str, k: int) -> np.ndarray:
        """Episode ``k``'s frames of camera feature ``key`` as (L, H, W, 3) uint8, decoded with
        imageio-ffmpeg. DatasetError for an unknown key, a missing or short video file."""
        from robokit.policies.datasets.video import read_episode_frames

        if key not in self.video_keys:
            raise DatasetError(f"{self.root}: no video feature {key!r}; it has {self.video_keys}")
        ep = self.episode_row(k)
        chunk, file, first = video_location(ep, key, self.fps, self.root / EPISODES_DIR)
        relative = self.info["video_path"].format(video_key=key, chunk_index=chunk, file_index=file)
        path = inside(self.root, relative, "video_path")
        return read_episode_frames(path, first, ep["length"])


def read_dataset(root: str | Path) -> LeRobotDatasetReader:
    """Open and check a LeRobotDataset v3.0 folder; DatasetError (one line) if it is not one."""
    return LeRobotDatasetReader(root)
