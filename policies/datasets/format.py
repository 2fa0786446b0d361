"""LeRobotDataset v3.0, the parts robokit writes and reads: file layout, feature types, errors.

The layout (LeRobot ``src/lerobot/datasets/utils.py``, codebase_version "v3.0")::

    meta/info.json                              codebase_version, fps, features, path templates, totals
    meta/stats.json                             per feature: min, max, mean, std, count
    meta/tasks.parquet                          one row per task: its text (the pandas index) and task_index
    meta/episodes/chunk-000/file-000.parquet    one row per episode: length, dataset_from_index/to_index,
                                                data/chunk_index, data/file_index, videos/<key>/... timestamps
    data/chunk-000/file-000.parquet             one row per frame, episodes one after another
    videos/<key>/chunk-000/file-000.mp4         one stream per camera, episodes one after another

A frame row holds the features of ``info.json`` whose dtype is not "video": a shape (1,) feature is a
scalar column, a shape (n,) feature a fixed-size list column. ``timestamp`` is ``frame_index / fps``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CODEBASE_VERSION = "v3.0"
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
EPISODES_DIR = "meta/episodes"
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
EPISODES_PATH = EPISODES_DIR + "/" + CHUNK_FILE + ".parquet"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE + ".mp4"
CHUNKS_SIZE = 1000  # files per chunk folder (LeRobot's DEFAULT_CHUNK_SIZE)
DATA_FILES_SIZE_MB = 100  # LeRobot's DEFAULT_DATA_FILE_SIZE_IN_MB
VIDEO_FILES_SIZE_MB = 200  # LeRobot's DEFAULT_VIDEO_FILE_SIZE_IN_MB
INDEX_FEATURES = ("timestamp", "frame_index", "episode_index", "index", "task_index")
EPISODE_COLUMNS = (  # what a reader needs from meta/episodes
    "episode_index",
    "length",
    "dataset_from_index",
    "dataset_to_index",
    "data/chunk_index",
    "data/file_index",
)
ROBOKIT_KEY = "robokit"  # info.json: what replay needs (env id, cameras); LeRobot ignores unknown keys
SEED_COLUMN = "robokit/seed"  # meta/episodes: each episode's reset seed


class DatasetError(ValueError):
    """A dataset robokit cannot read or write: the message is one line naming the file and the fault."""


def arrow_type(feature: dict[str, Any]) -> Any:
    """The pyarrow type of a non-video feature: a scalar for shape (1,), a fixed-size list for (n,)."""
    import pyarrow as pa

    value = pa.bool_() if feature["dtype"] == "bool" else pa.from_numpy_dtype(feature["dtype"])
    shape = tuple(feature["shape"])
    return value if shape == (1,) else pa.list_(value, shape[0])


def inside(root: Path, relative: str, what: str) -> Path:
    """``root / relative`` when it stays inside ``root`` (a path from a file is untrusted); else
    DatasetError."""
    try:
        path = (root / relative).resolve()
        outside = Path(relative).is_absolute() or not path.is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte
        raise DatasetError(f"{what} {relative!r} in {root}: not a usable path ({exc})") from None
    if outside:
        raise DatasetError(f"{what} {relative!r} points outside the dataset folder {root}")
    return path


def video_feature(height: int, width: int, fps: int) -> dict[str, Any]:
    """info.json's entry for an H.264 camera stream (LeRobot ``get_video_info``'s keys)."""
    return {
        "dtype": "video",
        "shape": [height, width, 3],
        "names": ["height", "width", "channels"],
        "info": {
            "video.height": height,
            "video.width": width,
            "video.codec": "h264",
            "video.pix_fmt": "yuv420p",
            "video.is_depth_map": False,
            "video.fps": fps,
            "video.channels": 3,
            "has_audio": False,
        },
    }
