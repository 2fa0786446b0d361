"""Datasets for the dataset tests: one written by robokit's writer from known arrays, and a foreign one
built with pyarrow alone from the v3.0 format description (LeRobot's docs and utils.py), not by robokit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robokit.policies.datasets import DatasetWriter


def known_episodes(rng: np.random.Generator, lengths: list[int]) -> list[dict[str, np.ndarray]]:
    """Random frames for the writer: a 4-D state, a 2-D action, reward/done/success."""
    out = []
    for n in lengths:
        out.append(
            {
                "observation.state": rng.normal(size=(n, 4)).astype(np.float32),
                "action": rng.uniform(-1, 1, size=(n, 2)).astype(np.float32),
                "next.reward": rng.normal(size=n).astype(np.float32),
                "next.done": np.arange(n) == n - 1,
                "next.success": rng.uniform(size=n) < 0.5,
            }
        )
    return out


def gradient_frames(n: int, height: int, width: int, offset: int) -> np.ndarray:
    """(n, H, W, 3) uint8 frames whose colour changes with the frame: easy to tell apart after H.264."""
    frames = np.zeros((n, height, width, 3), dtype=np.uint8)
    for i in range(n):
        frames[i, ..., 0] = (offset + 23 * i) % 256
        frames[i, ..., 1] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
        frames[i, ..., 2] = 128
    return frames


def write_known(root: Path, lengths: list[int], camera: tuple[int, int] | None = None, seed: int = 0) -> list:
    """A dataset written by DatasetWriter from known arrays; returns the episodes (with ``images``)."""
    episodes = known_episodes(np.random.default_rng(seed), lengths)
    features = {
        "observation.state": {"dtype": "float32", "shape": [4]},
        "action": {"dtype": "float32", "shape": [2]},
        "next.reward": {"dtype": "float32", "shape": [1]},
        "next.done": {"dtype": "bool", "shape": [1]},
        "next.success": {"dtype": "bool", "shape": [1]},
    }
    writer = DatasetWriter(root, 10, features, "known task", cameras={"cam": camera} if camera else None)
    for k, ep in enumerate(episodes):
        images = {"cam": gradient_frames(len(ep["action"]), *camera, offset=40 * k)} if camera else None
        writer.add_episode(ep, images, seed=k)
        ep["images"] = images
    writer.close()
    return episodes


FOREIGN_FPS = 30


def _fixed(values: np.ndarray) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])


def write_foreign(root: Path) -> list[np.ndarray]:
    """A v3.0 dataset as another tool would write it: 6-D state and action, 2 episodes (5 and 7 frames)
    in two data files, two episode-table files, two tasks in a pandas-style tasks.parquet (unnamed
    index), per-episode stats columns. Returns the states of the two episodes."""
    rng = np.random.default_rng(7)
    lengths, states, start = [5, 7], [], 0
    ep_rows = []
    for k, n in enumerate(lengths):
        state = rng.normal(size=(n, 6)).astype(np.float32)
        states.append(state)
        frames = pa.table(
            {
                "observation.state": _fixed(state),
                "action": _fixed(rng.normal(size=(n, 6)).astype(np.float32)),
                "timestamp": pa.array(np.arange(n, dtype=np.float32) / FOREIGN_FPS),
                "frame_index": pa.array(np.arange(n, dtype=np.int64)),
                "episode_index": pa.array(np.full(n, k, dtype=np.int64)),
                "index": pa.array(np.arange(start, start + n, dtype=np.int64)),
                "task_index": pa.array(np.full(n, k, dtype=np.int64)),
            }
        )
        path = root / f"data/chunk-000/file-{k:03d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(frames, path)
        ep_rows.append(
            {
                "episode_index": k,
                "tasks": [f"task {k}"],
                "length": n,
                "data/chunk_index": 0,
                "data/file_index": k,
                "dataset_from_index": start,
                "dataset_to_index": start + n,
                "meta/episodes/chunk_index": 0,
                "meta/episodes/file_index": k,
                "stats/observation.state/mean": state.mean(axis=0).tolist(),
            }
        )
        start += n
    for k, row in enumerate(ep_rows):
        path = root / f"meta/episodes/chunk-000/file-{k:03d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist([row]), path)
    pandas_meta = {
        "index_columns": ["__index_level_0__"],
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
                "name": None,
                "field_name": "__index_level_0__",
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": None,
            },
        ],
        "pandas_version": "2.2.0",
    }
    tasks = pa.table({"task_index": [0, 1], "__index_level_0__": ["task 0", "task 1"]})
    pq.write_table(
        tasks.replace_schema_metadata({"pandas": json.dumps(pandas_meta)}), root / "meta/tasks.parquet"
    )
    vec = {"dtype": "float32", "shape": [6], "names": [f"j{i}" for i in range(6)]}
    scalar = {"shape": [1], "names": None}
    info = {
        "codebase_version": "v3.0",
        "robot_type": "other_arm",
        "total_episodes": 2,
        "total_frames": start,
        "total_tasks": 2,
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 200,
        "fps": FOREIGN_FPS,
        "splits": {"train": "0:2"},
        "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
        "video_path": None,
        "features": {
            "observation.state": vec,
            "action": vec,
            "timestamp": {"dtype": "float32", **scalar},
            **{
                k: {"dtype": "int64", **scalar}
                for k in ("frame_index", "episode_index", "index", "task_index")
            },
        },
    }
    (root / "meta/info.json").write_text(json.dumps(info))
    return states
