"""A report page as data, and its HTML: sections (cards, key-value tables, videos, images, sortable tables,
notes) rendered by one Jinja2 template with autoescape, all CSS and JavaScript inline, nothing from the
network. Strings from files go into the page as text only: the template escapes every one of them."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Table:
    """A sortable, filterable table. ``columns``: (label, numeric); each row: cells of (text, sort key or
    None) and an optional success flag (the filter's successes / failures choice)."""

    id: str
    columns: list[tuple[str, bool]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    def add(self, cells: list[tuple[str, float | str | None]], success: bool | None = None) -> None:
        self.rows.append({"cells": cells, "success": success})

    @property
    def has_success(self) -> bool:
        return any(r["success"] is not None for r in self.rows)


@dataclass
class Page:
    """One report page: a title, what could not be shown (``problems``), and sections in order. A section
    is a dict with ``title``, ``kind`` (cards, kv, videos, images, table, text) and that kind's data."""

    title: str
    kind: str
    subtitle: str = ""
    problems: list[str] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, title: str, **data: Any) -> None:
        self.sections.append({"kind": kind, "title": title, **data})


def fmt(value: Any, digits: int = 3) -> str:
    """A value as short text: numbers to ``digits`` significant digits, None as an en dash, containers as
    compact JSON, anything else as str."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple, dict)):
        text = json.dumps(value, default=str)
        return text if len(text) <= 300 else text[:297] + "..."
    return str(value)


def kv(items: dict[str, Any] | list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(key, text) pairs for a kv section, values through ``fmt``."""
    pairs = items.items() if isinstance(items, dict) else items
    return [(str(k), fmt(v)) for k, v in pairs]


def robokit_version() -> str:
    """The installed robokit's version, or "unknown"."""
    try:
        from importlib.metadata import version

        return version("robokit")
    except Exception:  # noqa: BLE001  (not installed)
        return "unknown"


def render(page: Page) -> str:
    """The page's HTML (Jinja2, autoescape on)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    built = f"robokit {robokit_version()}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    return env.get_template("page.html.j2").render(page=page, built=built)


def write_page(page: Page, out: Path) -> Path:
    """Write the page to ``out`` through a temp file renamed into place; raises OSError."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render(page), encoding="utf-8")
    os.replace(tmp, out)
    return out
