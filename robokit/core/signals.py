"""Holding the stop signals over a short step that must not be left half done (writing a summary, moving a
finished dataset into place)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

HELD_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """Within the block SIGINT, SIGTERM and SIGHUP are noted (the list yielded), not acted on; the previous
    handlers come back after. Keep the block short. Main thread only (where Python handles signals);
    elsewhere nothing is changed."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = {s: signal.signal(s, lambda n, _f: caught.append(n)) for s in HELD_SIGNALS}
    try:
        yield caught
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
