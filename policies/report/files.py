"""Tolerant readers for the files a report shows. Every file is untrusted: a missing, damaged or odd file
gives a value the page can show and a problem sentence, never an exception."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from robokit.core.run_files import REPORT_FILE

MAX_READ_BYTES = 256 * 1024 * 1024  # a report reads at most this much of one file (eval.json: ~170k episodes)
SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*$")


def read_text(path: Path, problems: list[str], whole: bool = False) -> str | None:
    """The file's text (bytes that are not UTF-8 replaced), or None with a problem noted. A file over
    MAX_READ_BYTES: its start, or with ``whole`` (a JSON document, useless cut short) None."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_READ_BYTES + 1)
    except FileNotFoundError:
        problems.append(f"{path.name} is missing")
        return None
    except OSError as exc:
        problems.append(f"{path.name} cannot be read: {exc.strerror or exc}")
        return None
    if len(data) > MAX_READ_BYTES and whole:
        problems.append(f"{path.name} is over {MAX_READ_BYTES >> 20} MiB: not read")
        return None
    if len(data) > MAX_READ_BYTES:
        problems.append(f"{path.name} is over {MAX_READ_BYTES >> 20} MiB: only its start is shown")
        data = data[:MAX_READ_BYTES]
    return data.decode("utf-8", errors="replace")


def read_json(path: Path, problems: list[str]) -> dict[str, Any]:
    """A JSON object from ``path``; {} (and a problem) when it is missing, damaged or not an object."""
    text = read_text(path, problems, whole=True)
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        problems.append(f"{path.name} is not valid JSON ({exc})")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path.name} holds a {type(data).__name__}, not a JSON object")
        return {}
    return data


def read_jsonl(path: Path, problems: list[str], limit: int = 2_000_000) -> list[dict[str, Any]]:
    """The JSON-object lines of ``path`` (at most ``limit``); damaged lines are skipped and counted."""
    text = read_text(path, problems)
    if text is None:
        return []
    rows, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(row, dict):
            rows.append(row)
        else:
            bad += 1
        if len(rows) >= limit:
            problems.append(f"{path.name}: only its first {limit} rows are shown")
            break
    if bad:
        problems.append(f"{path.name}: {bad} damaged line(s) left out")
    return rows


def read_yaml(path: Path, problems: list[str]) -> dict[str, Any]:
    """A YAML mapping (safe_load: no objects built); {} and a problem otherwise."""
    import yaml

    text = read_text(path, problems)
    if text is None:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problems.append(f"{path.name} is not valid YAML ({' '.join(str(exc).split())[:200]})")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path.name} is not a mapping")
        return {}
    return data


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None (strings, bools, NaN, inf, missing)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def numbers(rows: list[dict[str, Any]], key: str) -> list[tuple[int, float]]:
    """(row index, finite value) of ``key`` in each row that has one."""
    return [(i, v) for i, r in enumerate(rows) if (v := number(r.get(key))) is not None]


def local_file(folder: Path, name: Any, page_dir: Path) -> str | None:
    """A URL, relative to ``page_dir``, of the file ``name`` inside ``folder``; None unless ``name`` is a
    plain relative path (no ``..``, no scheme, no odd characters) of a file that exists there."""
    if not isinstance(name, str) or not SAFE_NAME.match(name) or ".." in name.split("/"):
        return None
    path = folder / name
    if not path.is_file():
        return None
    return relative_url(path, page_dir)


def relative_url(path: Path, page_dir: Path) -> str:
    """The percent-encoded relative URL of ``path`` from a page in ``page_dir``."""
    rel = os.path.relpath(path.resolve(), page_dir.resolve())
    return quote(Path(rel).as_posix())


def sub_reports(folder: Path, marker: str, page_dir: Path, limit: int = 200) -> list[tuple[str, str]]:
    """(url, folder name) of the report.html of each subfolder of ``folder`` that holds ``marker`` (e.g.
    eval.json) and a report.html, in name order, at most ``limit``."""
    try:
        subs = sorted(p for p in folder.iterdir() if p.is_dir() and (p / marker).is_file())
    except OSError:
        return []
    return [
        (relative_url(p / REPORT_FILE, page_dir), p.name) for p in subs[:limit] if (p / REPORT_FILE).is_file()
    ]
