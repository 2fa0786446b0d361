"""The servo pulse widths the emulator measures on the firmware's pins, frame by frame (PULSE lines on
its stderr), kept for tests and the demo to read: what the servos would really be told."""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class PulseFrame:
    """Pulse widths (us, 0 = no pulse) measured on each servo pin during firmware frame ``frame``."""

    frame: int
    widths_us: tuple[float, ...]


class PulseReader:
    """Thread-safe store of the emulator's PULSE lines (the last ``maxlen`` frames)."""

    def __init__(self, maxlen: int = 30000) -> None:
        self._frames: collections.OrderedDict[int, PulseFrame] = collections.OrderedDict()
        self._maxlen = maxlen
        self._cond = threading.Condition()
        self.timing: dict[str, float] = {}

    def _add(self, pf: PulseFrame) -> None:
        with self._cond:
            if self._frames and pf.frame <= next(reversed(self._frames)):
                self._frames.clear()  # the MCU was reset: its frame counter started again from 0
            self._frames[pf.frame] = pf
            while len(self._frames) > self._maxlen:
                self._frames.popitem(last=False)
            self._cond.notify_all()

    def latest(self) -> PulseFrame | None:
        with self._cond:
            return next(reversed(self._frames.values()), None)

    def get(self, frame: int) -> PulseFrame | None:
        with self._cond:
            return self._frames.get(frame)

    def after(self, frame: int) -> list[PulseFrame]:
        """The stored frames numbered above ``frame``, oldest first; all of them if the numbering
        started again below ``frame`` (an MCU reset)."""
        with self._cond:
            frames = list(self._frames.values())
        if frames and frames[-1].frame < frame:
            return frames
        return [pf for pf in frames if pf.frame > frame]

    def wait_for(self, frame: int, timeout_s: float = 2.0) -> PulseFrame:
        """The PulseFrame of ``frame``, waiting until the emulator has reported it (it does so one
        frame later); raises TimeoutError."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while frame not in self._frames:
                latest = next(reversed(self._frames), -1)
                remaining = deadline - time.monotonic()
                if latest > frame or remaining <= 0:
                    raise TimeoutError(f"no pulse record for frame {frame} (latest {latest})")
                self._cond.wait(remaining)
            return self._frames[frame]
