"""Cameras for recording: any source OpenCV opens (a USB camera's index or /dev/video path, a network
stream's URL such as the emulator's plant view, a video file), read on a thread of its own so a control
loop takes the newest frame without waiting for one (``robokit teleop --camera NAME=SOURCE``).

A video file is read at its own frame rate (a camera delivers frames in real time; a file would otherwise
be read as fast as it decodes). ``CameraError`` is one line naming the camera: a source OpenCV cannot
open, no first frame within ``FIRST_FRAME_S``, or a stream that ended.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FIRST_FRAME_S = 5.0
NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")  # a camera's name: observation.images.<name>


class CameraError(RuntimeError):
    """A camera that cannot give frames (the message names it and why)."""


@dataclass(frozen=True)
class CameraSpec:
    """``NAME=SOURCE`` from the command line: name (observation.images.<name>) and the OpenCV source (an
    int for a device index, else a path or URL)."""

    name: str
    source: int | str

    @classmethod
    def parse(cls, text: str) -> CameraSpec:
        """ValueError (one line) for text that is not NAME=SOURCE with a lowercase name."""
        name, sep, source = text.partition("=")
        if not sep or not source:
            raise ValueError(
                f"--camera {text!r}: want NAME=SOURCE (e.g. front=0, front=/dev/video2, front=URL)"
            )
        if not NAME.fullmatch(name):
            raise ValueError(
                f"--camera {text!r}: a name is a lowercase word (letters, digits, _), like front"
            )
        return cls(name, int(source) if source.isdigit() else source)


class Camera:
    """An open camera; ``latest()`` gives its newest frame. Use as a context manager (``close()``)."""

    def __init__(self, spec: CameraSpec) -> None:
        import cv2

        self.spec = spec
        self._cap = cv2.VideoCapture(spec.source)
        if not self._cap.isOpened():
            raise CameraError(f"camera {spec.name}: OpenCV cannot open {spec.source!r}")
        is_file = isinstance(spec.source, str) and Path(spec.source).is_file()
        rate = self._cap.get(cv2.CAP_PROP_FPS) if is_file else 0.0
        self._file_period_s = 1.0 / rate if rate and rate > 0 else 0.0
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._at = 0.0
        self._ended = False
        self._stop = False
        self._thread = threading.Thread(target=self._grab, name=f"camera-{spec.name}", daemon=True)
        self._thread.start()
        with self._cond:
            self._cond.wait_for(lambda: self._frame is not None or self._ended, FIRST_FRAME_S)
            ok = self._frame is not None
        if not ok:
            self.close()
            raise CameraError(f"camera {spec.name}: no frame from {spec.source!r} within {FIRST_FRAME_S:g} s")

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) px of its frames."""
        assert self._frame is not None
        return self._frame.shape[0], self._frame.shape[1]

    def latest(self) -> tuple[np.ndarray, float]:
        """(the newest frame (H, W, 3) uint8 RGB, its age in s). CameraError once the stream has ended."""
        with self._cond:
            if self._ended:
                raise CameraError(f"camera {self.spec.name}: the stream {self.spec.source!r} ended")
            assert self._frame is not None
            return self._frame, time.monotonic() - self._at

    def _grab(self) -> None:
        next_at = time.monotonic()
        while not self._stop:
            ok, bgr = self._cap.read()
            if not ok or bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
                with self._cond:
                    self._ended = True
                    self._cond.notify_all()
                return
            with self._cond:
                first = self._frame is None
                if first or bgr.shape == (*self.shape, 3):  # a stream that changes size mid-way: kept out
                    self._frame, self._at = np.ascontiguousarray(bgr[:, :, ::-1]), time.monotonic()
                self._cond.notify_all()
            if self._file_period_s:
                next_at += self._file_period_s
                time.sleep(max(0.0, next_at - time.monotonic()))

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2.0)
        self._cap.release()

    def __enter__(self) -> Camera:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
