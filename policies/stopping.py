"""Stopping a training run cleanly: the first Ctrl-C asks it to stop, a second one interrupts at once."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any


class StopTraining(Exception):
    """Raised by a training loop's callback to leave the loop at a consistent point (SB3's ``learn`` at
    the end of an off-policy rollout, once its transitions are in the replay buffer)."""


@contextlib.contextmanager
def stop_on_first_sigint(on_first: Callable[[], None]) -> Iterator[None]:
    """Within the block the first SIGINT (Ctrl-C) calls ``on_first`` (the loop then stops where its state
    is consistent) and puts the previous handler back, so a second Ctrl-C interrupts at once. Off the main
    thread (Python runs signal handlers there only) the block runs with the handler as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def first(signum: int, frame: Any) -> None:
        on_first()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
