"""A deploy run's log folder: ``ticks.jsonl`` line by line, ``summary.json`` into space reserved at start.

The folder is checked and both files are opened before the arm is touched, so a bad ``--log`` is refused
up front. ``summary.json`` is filled with spaces at start (``SUMMARY_RESERVE_BYTES``), so the summary can
still be written over them when the disk fills during the run.

Tick lines are written by a thread of their own: a write to a file now and then blocks for ~10 ms (the
filesystem's journal, dirty-page throttling), which at 200 Hz is two missed deadlines if the control loop
waits for it. The loop hands each line over and goes on; a write error is raised (LogWriteFailed) on the
next tick. A killed process loses at most the lines handed over since the writer last ran (usually none).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
from pathlib import Path
from typing import Any

from robokit.core.run_files import SUMMARY_FILE, TICKS_FILE
from robokit.paths import PathError, check_output_dir

SUMMARY_RESERVE_BYTES = 64 * 1024
PLACEHOLDER = b'{"exit_reason": "did not finish: the process was killed or is still running"}\n'


class LogSetupError(ValueError):
    """The log folder cannot be used (a file of that name, not writable, no space)."""


class LogWriteFailed(OSError):
    """Writing a tick to ticks.jsonl failed mid-run (disk full, I/O error)."""


class DeployLog:
    """Opens ``log_dir/ticks.jsonl`` and reserves ``log_dir/summary.json``; raises LogSetupError."""

    def __init__(self, log_dir: Path) -> None:
        self.dir = Path(log_dir)
        try:
            check_output_dir(self.dir, "log folder")
        except PathError as exc:
            raise LogSetupError(str(exc)) from None
        self._created = not self.dir.exists()
        self._used = False
        if self.dir.exists() and not self.dir.is_dir():
            raise LogSetupError(f"log folder {self.dir} is an existing file; give a folder (new or existing)")
        if any((self.dir / name).exists() for name in (TICKS_FILE, SUMMARY_FILE)):
            raise LogSetupError(
                f"log folder {self.dir} holds an earlier run's {TICKS_FILE}/{SUMMARY_FILE}; "
                "give a new folder (or delete that one)"
            )
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._summary_fd = os.open(self.dir / SUMMARY_FILE, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            try:  # valid JSON from the start (trailing spaces are whitespace): a killed run says so
                os.write(self._summary_fd, PLACEHOLDER.ljust(SUMMARY_RESERVE_BYTES))
                os.fsync(self._summary_fd)
            except OSError:
                os.close(self._summary_fd)
                raise
            self._ticks_fd = os.open(self.dir / TICKS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            raise LogSetupError(f"cannot write the log folder {self.dir}: {exc.strerror or exc}") from None
        self._lines: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._error: str | None = None
        self._whole = 0  # bytes of ticks.jsonl that are whole lines
        self._writer = threading.Thread(target=self._write_lines, name="DeployLog", daemon=True)
        self._writer.start()

    def write_tick(self, row: dict[str, Any]) -> None:
        """Append one tick (handed to the writer thread); raises LogWriteFailed once a write has failed."""
        self._used = True
        if self._error is not None:
            raise LogWriteFailed(self._error)
        self._lines.put((json.dumps(row) + "\n").encode())

    def finish_ticks(self) -> str | None:
        """Wait until every tick handed over is written and stop the writer; returns None, or why a write
        failed. Idempotent."""
        if self._writer.is_alive():
            self._lines.put(None)
            self._writer.join()
        return self._error

    def _write_lines(self) -> None:
        """The writer thread: every line in order, in batches of what has piled up; after a failure the
        rest is dropped (the loop stops on its next tick)."""
        while True:
            batch, done = [self._lines.get()], False
            with contextlib.suppress(queue.Empty):
                while batch[-1] is not None:
                    batch.append(self._lines.get_nowait())
            if batch[-1] is None:
                batch.pop()
                done = True
            data = b"".join(batch)  # type: ignore[arg-type]
            done_bytes = 0
            try:
                while done_bytes < len(data) and self._error is None:
                    done_bytes += os.write(self._ticks_fd, data[done_bytes:])
                self._whole += done_bytes
            except OSError as exc:
                self._error = f"writing {self.dir / TICKS_FILE} failed: {exc.strerror or exc}"
                self._cut_to_whole_lines(data[:done_bytes])
            if done:
                return

    def _cut_to_whole_lines(self, written: bytes) -> None:
        """After a failed write: drop a line cut short, so the file holds whole lines only."""
        self._whole += written.rfind(b"\n") + 1
        with contextlib.suppress(OSError):
            os.ftruncate(self._ticks_fd, self._whole)
            os.lseek(self._ticks_fd, self._whole, os.SEEK_SET)

    def write_summary(self, summary: dict[str, Any]) -> str | None:
        """Write summary.json over the reserved space. Returns None, or why it could not."""
        data = json.dumps(summary, indent=2).encode()
        self._used = True
        try:
            os.lseek(self._summary_fd, 0, os.SEEK_SET)
            written = 0
            while written < len(data):
                written += os.write(self._summary_fd, data[written:])
            os.ftruncate(self._summary_fd, len(data))
            os.fsync(self._summary_fd)
        except OSError as exc:
            return f"could not write {self.dir / SUMMARY_FILE}: {exc.strerror or exc}"
        return None

    def close(self) -> None:
        """Close both files; a log never used (the run was refused before its first tick) is removed,
        with its folder if this log created it."""
        self.finish_ticks()
        if self._ticks_fd >= 0:
            with contextlib.suppress(OSError):  # a failing disk: the lines written so far are what there is
                os.close(self._ticks_fd)
            self._ticks_fd = -1
        if self._summary_fd >= 0:
            os.close(self._summary_fd)
            self._summary_fd = -1
        if not self._used:
            for name in (TICKS_FILE, SUMMARY_FILE):
                (self.dir / name).unlink(missing_ok=True)
            if self._created:
                with contextlib.suppress(OSError):  # something else was put there meanwhile: leave it
                    self.dir.rmdir()
