"""Checks of a dataset's untrusted metadata and tables: every field the reader uses, its type and range.

Each check raises ``DatasetError`` with one line naming the file (``where``) and the field. Bounds keep a
hostile file from asking for absurd work (a feature of 10**12 elements, a template with attribute lookups).
"""

from __future__ import annotations

import math
import re
import string
from pathlib import Path
from typing import Any

import numpy as np

from robokit.policies.datasets.format import DatasetError

NUMERIC_DTYPES = (
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
)
OTHER_DTYPES = ("video", "image", "string")  # LeRobot's non-numeric feature dtypes
MAX_DIM = 65536  # largest size of one axis of a feature
MAX_ELEMENTS = 2**26  # largest number of elements of one frame of a feature (a 4K RGB image is 2**25)
MAX_NDIM = 4
MAX_COUNT = 2**53  # largest episode, frame, chunk or file number (exact as a float)
MAX_START_FRAME = 2**31  # largest first video frame of an episode
DATA_FIELDS = ("chunk_index", "file_index")
VIDEO_FIELDS = ("video_key", "chunk_index", "file_index")
_SPEC = re.compile(r"0?[1-9]?d?")  # format specs of a path template's integer fields: "", "03d", "d"


def is_int(value: Any, low: int = 0, high: int = MAX_COUNT) -> bool:
    """True for an int (not a bool) in ``low..high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def check_template(template: Any, fields: tuple[str, ...], name: str, where: Path) -> str:
    """A path template of info.json that names only ``fields``, plainly (``{chunk_index:03d}``; no
    attribute, index or conversion); DatasetError otherwise."""
    if not isinstance(template, str) or not template or len(template) > 1024 or "\0" in template:
        raise DatasetError(f"{where}: {name} must be a path template, not {str(template)[:80]!r}")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise DatasetError(f"{where}: {name} {template!r} is not a valid template ({exc})") from None
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in fields or conversion is not None:
            raise DatasetError(
                f"{where}: {name} {template!r} may only use the fields {{{', '.join(fields)}}}"
            )
        if (field == "video_key" and spec) or not _SPEC.fullmatch(spec or ""):
            raise DatasetError(f"{where}: {name} {template!r} has a bad format spec {spec!r} for {field}")
    return template


def check_feature(name: str, feature: Any, where: Path) -> None:
    """One entry of info.json's features: a known dtype and a bounded shape list of positive ints."""
    if not isinstance(feature, dict):
        raise DatasetError(f"{where}: feature {name!r} must be an object with a dtype and a shape")
    dtype, shape = feature.get("dtype"), feature.get("shape")
    if dtype not in NUMERIC_DTYPES + OTHER_DTYPES:
        known = ", ".join(NUMERIC_DTYPES + OTHER_DTYPES)
        raise DatasetError(f"{where}: feature {name!r} has dtype {dtype!r:.40}; robokit reads {known}")
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= MAX_NDIM
        or not all(is_int(n, 1, MAX_DIM) for n in shape)
        or math.prod(shape) > MAX_ELEMENTS
    ):
        raise DatasetError(
            f"{where}: feature {name!r} has a bad shape {str(shape)[:80]}: 1..{MAX_NDIM} sizes in "
            f"1..{MAX_DIM}, at most {MAX_ELEMENTS} elements"
        )


def check_episode_row(row: dict[str, Any], where: Path) -> None:
    """The fields of one meta/episodes row the reader uses: integer indices in range, length >= 1."""
    k = row.get("episode_index")
    for column in ("episode_index", "length", "dataset_from_index", "dataset_to_index", *_DATA_COLUMNS):
        if not is_int(row.get(column), 1 if column == "length" else 0):
            raise DatasetError(
                f"{where}: episode {str(k)[:20]}: {column} must be an integer "
                f"{'>= 1' if column == 'length' else '>= 0'}, not {row.get(column)!r:.40}"
            )


_DATA_COLUMNS = ("data/chunk_index", "data/file_index")


def video_location(row: dict[str, Any], key: str, fps: float, where: Path) -> tuple[int, int, int]:
    """(chunk_index, file_index, first frame) of camera ``key`` for one episode row: indices >= 0 and a
    finite from_timestamp >= 0 whose frame number is in range; DatasetError otherwise."""
    k = row["episode_index"]
    prefix = f"videos/{key}/"
    missing = [c for c in ("chunk_index", "file_index", "from_timestamp") if prefix + c not in row]
    if missing:
        raise DatasetError(f"{where}: episode {k} lacks the column(s) {[prefix + c for c in missing]}")
    for column in ("chunk_index", "file_index"):
        if not is_int(row[prefix + column]):
            raise DatasetError(f"{where}: episode {k}: {prefix}{column} must be an integer >= 0")
    start = row[prefix + "from_timestamp"]
    if (
        isinstance(start, bool)
        or not isinstance(start, (int, float))
        or not math.isfinite(start)
        or not 0 <= start * fps <= MAX_START_FRAME
    ):
        raise DatasetError(
            f"{where}: episode {k}: {prefix}from_timestamp must be a finite time >= 0 s "
            f"(frame <= {MAX_START_FRAME}), not {start!r}"
        )
    return row[prefix + "chunk_index"], row[prefix + "file_index"], int(round(start * fps))


def column_array(column: Any, name: str, feature: dict[str, Any], where: Path) -> np.ndarray:
    """A feature's column of one episode as an array (L,) for shape (1,) or (L, *shape): numbers of the
    feature's dtype, or str for "string". DatasetError for nulls, another type or a ragged/wrong shape."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    level, depth = column, 0
    while True:
        if level.null_count:
            raise DatasetError(f"{where}: column {name!r} has empty (null) values")
        if not (pa.types.is_list(level.type) or pa.types.is_fixed_size_list(level.type)):
            break
        level, depth = pc.list_flatten(level), depth + 1
    dtype = feature["dtype"]
    text = dtype == "string"
    kind_ok = pa.types.is_string(level.type) or pa.types.is_large_string(level.type)
    if not text:
        kind_ok = any(f(level.type) for f in (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean))
    if not kind_ok:
        raise DatasetError(f"{where}: column {name!r} holds {column.type}, not {dtype} values")
    try:
        values = np.asarray(column.to_pylist(), dtype=object if text else np.dtype(dtype))
    except (ValueError, TypeError, OverflowError) as exc:
        raise DatasetError(f"{where}: column {name!r} does not fit dtype {dtype} ({exc})"[:300]) from None
    shape = tuple(feature["shape"])
    if values.shape[1:] != shape and not (shape == (1,) and values.ndim == 1):
        raise DatasetError(
            f"{where}: column {name!r} holds values of shape {values.shape[1:]}, info.json says {shape}"
        )
    return values
