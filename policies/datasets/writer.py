"""Write a LeRobotDataset v3.0 (layout in ``robokit.policies.datasets.format``) episode by episode.

Frames go to one Parquet file (``data/chunk-000/file-000.parquet``, streamed per episode), each camera to
one H.264 (yuv420p) mp4 holding the episodes one after another; ``close()`` writes the metadata
(info.json, stats.json, tasks.parquet, the episodes table). Written with pyarrow and imageio-ffmpeg;
LeRobot's own loader reads the result (tests/policies/test_datasets.py).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from robokit.policies.datasets.format import (
    CHUNKS_SIZE,
    CODEBASE_VERSION,
    DATA_FILES_SIZE_MB,
    DATA_PATH,
    EPISODES_PATH,
    INFO_PATH,
    ROBOKIT_KEY,
    SEED_COLUMN,
    STATS_PATH,
    TASKS_PATH,
    VIDEO_FILES_SIZE_MB,
    VIDEO_PATH,
    arrow_type,
    video_feature,
)
from robokit.policies.datasets.stats import DatasetStats

INDEX_FEATURE_TYPES = {  # LeRobot's DEFAULT_FEATURES
    "timestamp": "float32",
    "frame_index": "int64",
    "episode_index": "int64",
    "index": "int64",
    "task_index": "int64",
}


def _column(values: np.ndarray, feature: dict[str, Any]) -> Any:
    """A pyarrow array of one feature for one episode; values (L,) or (L, n)."""
    import pyarrow as pa

    kind = arrow_type(feature)
    arr = np.ascontiguousarray(values, dtype=np.dtype(feature["dtype"]))
    if tuple(feature["shape"]) == (1,):
        return pa.array(arr.reshape(-1), type=kind)
    return pa.FixedSizeListArray.from_arrays(pa.array(arr.reshape(-1), type=kind.value_type), kind.list_size)


class DatasetWriter:
    """Writes into ``root`` (an empty or new folder). ``features`` maps each recorded key to its dtype and
    shape (the index features are added); ``cameras`` maps a camera name to (height, width): its frames are
    the feature ``observation.images.<name>``. ``extra`` lands in info.json under "robokit"."""

    def __init__(
        self,
        root: str | Path,
        fps: int,
        features: dict[str, dict[str, Any]],
        task: str,
        cameras: dict[str, tuple[int, int]] | None = None,
        robot_type: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.root, self.fps, self.task = Path(root), int(fps), task
        self.features = {
            k: {"dtype": v["dtype"], "shape": list(v["shape"]), "names": None} for k, v in features.items()
        }
        for key, dtype in INDEX_FEATURE_TYPES.items():
            self.features[key] = {"dtype": dtype, "shape": [1], "names": None}
        self.cameras = {f"observation.images.{n}": hw for n, hw in (cameras or {}).items()}
        self.robot_type, self.extra = robot_type, dict(extra or {})
        self.episodes: list[dict[str, Any]] = []
        self.total_frames = 0
        self.stats = DatasetStats()
        self._data_writer: Any = None
        self._videos: dict[str, Any] = {}
        self.root.mkdir(parents=True, exist_ok=True)

    def _schema(self) -> Any:
        import pyarrow as pa

        return pa.schema([(k, arrow_type(f)) for k, f in self.features.items()])

    def _video_writer(self, key: str) -> Any:
        import imageio.v2 as imageio

        path = self.root / VIDEO_PATH.format(video_key=key, chunk_index=0, file_index=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        return imageio.get_writer(
            str(path),
            fps=self.fps,
            codec="libx264",
            pixelformat="yuv420p",
            macro_block_size=1,
            ffmpeg_log_level="error",
            ffmpeg_params=["-preset", "veryfast", "-crf", "20", "-g", "10"],
        )

    def add_episode(
        self,
        frames: dict[str, np.ndarray],
        images: dict[str, np.ndarray] | None = None,
        seed: int | None = None,
    ) -> int:
        """Append one episode: ``frames`` maps every recorded feature to (L, ...) values; ``images`` maps a
        camera name to (L, H, W, 3) uint8 frames. Returns the episode's index. ValueError for a missing or
        extra key, or a length or shape mismatch (nothing of the episode is written then)."""
        import pyarrow as pa

        recorded = {k for k in self.features if k not in INDEX_FEATURE_TYPES}
        if set(frames) != recorded:
            raise ValueError(f"episode keys {sorted(frames)} differ from the features {sorted(recorded)}")
        length = len(next(iter(frames.values())))
        images = {f"observation.images.{n}": np.asarray(v) for n, v in (images or {}).items()}
        if set(images) != set(self.cameras):
            raise ValueError(f"episode cameras {sorted(images)} differ from {sorted(self.cameras)}")
        for key, values in [*frames.items(), *images.items()]:
            want = (length, *self.cameras[key], 3) if key in images else None
            if len(values) != length or (want is not None and values.shape != want):
                raise ValueError(
                    f"{key}: shape {np.shape(values)} does not fit an episode of {length} frames"
                )
        if length == 0:
            raise ValueError("an episode needs at least one frame")
        index = len(self.episodes)
        frame_index = np.arange(length)
        columns = {
            **frames,
            "timestamp": (frame_index / self.fps).astype(np.float32),
            "frame_index": frame_index,
            "episode_index": np.full(length, index),
            "index": self.total_frames + frame_index,
            "task_index": np.zeros(length, dtype=np.int64),
        }
        table = pa.table({k: _column(columns[k], f) for k, f in self.features.items()}, schema=self._schema())
        if self._data_writer is None:
            import pyarrow.parquet as pq

            path = self.root / DATA_PATH.format(chunk_index=0, file_index=0)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._data_writer = pq.ParquetWriter(str(path), self._schema(), compression="snappy")
        self._data_writer.write_table(table)
        for key, values in columns.items():
            self.stats.add_column(key, values)
        row = self._episode_row(index, length, seed)
        for key, video in images.items():
            if key not in self._videos:
                self._videos[key] = self._video_writer(key)
            for image in video:
                self._videos[key].append_data(np.ascontiguousarray(image, dtype=np.uint8))
            self.stats.add_frames(key, video)
        self.episodes.append(row)
        self.total_frames += length
        return index

    def _episode_row(self, index: int, length: int, seed: int | None) -> dict[str, Any]:
        """One row of meta/episodes (LeRobot's columns, plus the reset seed)."""
        row: dict[str, Any] = {
            "episode_index": index,
            "tasks": [self.task],
            "length": length,
            "data/chunk_index": 0,
            "data/file_index": 0,
            "dataset_from_index": self.total_frames,
            "dataset_to_index": self.total_frames + length,
        }
        for key in self.cameras:
            row[f"videos/{key}/chunk_index"] = 0
            row[f"videos/{key}/file_index"] = 0
            row[f"videos/{key}/from_timestamp"] = self.total_frames / self.fps
            row[f"videos/{key}/to_timestamp"] = (self.total_frames + length) / self.fps
        row["meta/episodes/chunk_index"] = 0
        row["meta/episodes/file_index"] = 0
        row[SEED_COLUMN] = -1 if seed is None else int(seed)
        return row

    def close(self) -> Path:
        """Finish the files and write the metadata; returns the dataset folder. ValueError if no episode
        was added."""
        if not self.episodes:
            raise ValueError("no episode recorded")
        if self._data_writer is not None:
            self._data_writer.close()
            self._data_writer = None
        for writer in self._videos.values():
            writer.close()
        self._videos = {}
        self._write_tables()
        self._write_json(STATS_PATH, self.stats.as_json())
        self._write_json(INFO_PATH, self.info())
        return self.root

    def abort(self) -> None:
        """Close the open files without writing the metadata (the folder is not a dataset then): the
        Parquet writer, and each camera's encoder (waiting for FFmpeg to exit). Errors are ignored."""
        for writer in [self._data_writer, *self._videos.values()]:
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()
        self._data_writer, self._videos = None, {}

    def info(self) -> dict[str, Any]:
        """meta/info.json (LeRobot's ``create_empty_dataset_info`` keys, filled in)."""
        features = dict(self.features)
        for key, (height, width) in self.cameras.items():
            features[key] = video_feature(height, width, self.fps)
        info = {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": self.robot_type,
            "total_episodes": len(self.episodes),
            "total_frames": self.total_frames,
            "total_tasks": 1,
            "chunks_size": CHUNKS_SIZE,
            "data_files_size_in_mb": DATA_FILES_SIZE_MB,
            "video_files_size_in_mb": VIDEO_FILES_SIZE_MB,
            "fps": self.fps,
            "splits": {"train": f"0:{len(self.episodes)}"},
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if self.cameras else None,
            "features": features,
        }
        if self.extra:
            info[ROBOKIT_KEY] = self.extra
        return info

    def _write_tables(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.root / EPISODES_PATH.format(chunk_index=0, file_index=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(self.episodes), str(path))
        pq.write_table(tasks_table([self.task]), str(self.root / TASKS_PATH))

    def _write_json(self, relative: str, data: dict[str, Any]) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")


def tasks_table(tasks: list[str]) -> Any:
    """meta/tasks.parquet as LeRobot writes it from pandas: the task text is the (named) index, with the
    pandas metadata that makes ``pandas.read_parquet`` restore it as the index."""
    import pyarrow as pa

    pandas_meta = {
        "index_columns": ["task"],
        "column_indexes": [],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {
                "name": "task",
                "field_name": "task",
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": None,
            },
        ],
        "creator": {"library": "robokit"},
        "pandas_version": "2.2.0",
    }
    schema = pa.schema([("task_index", pa.int64()), ("task", pa.string())]).with_metadata(
        {"pandas": json.dumps(pandas_meta)}
    )
    return pa.table({"task_index": list(range(len(tasks))), "task": tasks}, schema=schema)
