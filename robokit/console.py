"""Terminal output that stays readable when piped: progress bars and live status lines.

On a terminal, progress bars redraw in place (tqdm) and a status line rewrites itself with ``\\r``.
Into a pipe or a log file, both print plain lines, at most one every ``interval_s`` seconds, with no
``\\r`` and no escape codes.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


def is_terminal(stream: TextIO | None = None) -> bool:
    """True if ``stream`` (default stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real file
        return False


class _LineProgress:
    """tqdm's small API used here (update, n, set_postfix, close, context manager), as plain lines."""

    def __init__(
        self, total: int, initial: int, desc: str, unit: str, interval_s: float, file: TextIO
    ) -> None:
        self.total, self.n, self.desc, self.unit = total, initial, desc, unit
        self.interval_s, self.file = interval_s, file
        self.postfix: dict[str, Any] = {}
        self._t0 = time.monotonic()
        self._last = -float("inf")
        self._printed_n = None

    def update(self, k: int = 1) -> None:
        self.n += k
        now = time.monotonic()
        if now - self._last >= self.interval_s or self.n >= self.total:
            self._emit(now)

    def set_postfix(self, **kw: Any) -> None:
        self.postfix = kw

    def _emit(self, now: float) -> None:
        if self._printed_n == self.n:
            return
        self._last, self._printed_n = now, self.n
        extra = "".join(f", {k}={v}" for k, v in self.postfix.items())
        pct = 100.0 * self.n / self.total if self.total else 100.0
        print(
            f"{self.desc}: {self.n}/{self.total} {self.unit} ({pct:.0f}%, {now - self._t0:.0f} s{extra})",
            file=self.file,
            flush=True,
        )

    def close(self) -> None:
        self._emit(time.monotonic())

    def __enter__(self) -> _LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(
    total: int,
    desc: str,
    unit: str = "it",
    *,
    enabled: bool = True,
    initial: int = 0,
    interval_s: float = 10.0,
    file: TextIO | None = None,
) -> Any:
    """A tqdm bar on a terminal; plain progress lines every ``interval_s`` otherwise; a silent one if
    not ``enabled``. Supports ``update(k)``, ``n``, ``set_postfix(**kw)``, ``close()`` and ``with``."""
    file = sys.stderr if file is None else file
    if enabled and not is_terminal(file):
        return _LineProgress(total, initial, desc, unit, interval_s, file)
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit=unit,
        desc=desc,
        disable=not enabled,
        dynamic_ncols=True,
        mininterval=0.5,
        file=file,
    )


class StatusLine:
    """A live one-line status: rewritten in place on a terminal, plain lines (at most one every
    ``interval_s``) otherwise. Call it with the text; ``end()`` finishes the line."""

    def __init__(self, file: TextIO | None = None, interval_s: float = 1.0) -> None:
        self.file = sys.stdout if file is None else file
        self.tty = is_terminal(self.file)
        self.interval_s = interval_s
        self._last = -float("inf")
        self._width = 0
        self._open = False

    def __call__(self, text: str) -> None:
        if self.tty:
            pad = " " * max(0, self._width - len(text))
            self._width = len(text)
            print("\r" + text + pad, end="", file=self.file, flush=True)
            self._open = True
            return
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            print(text, file=self.file, flush=True)

    def end(self) -> None:
        """End the in-place line (a newline on a terminal, nothing otherwise)."""
        if self._open:
            print(file=self.file, flush=True)
            self._open = False
