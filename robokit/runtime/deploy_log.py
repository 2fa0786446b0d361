"""A deploy run's log folder: ``ticks.jsonl`` line by line, ``summary.json`` into space reserved at start.

The folder is checked and both files are opened before the arm is touched, so a bad ``--log`` is refused
up front. ``summary.json`` is filled with spaces at start (``SUMMARY_RESERVE_BYTES``), so the summary can
still be written over them when the disk fills during the run.
"""

from __future__ import annotations

import contextlib
import json
import os
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
            self._ticks = (self.dir / TICKS_FILE).open("w", buffering=1)  # line-buffered: whole up to a fault
        except OSError as exc:
            raise LogSetupError(f"cannot write the log folder {self.dir}: {exc.strerror or exc}") from None

    def write_tick(self, row: dict[str, Any]) -> None:
        """Append one tick; raises LogWriteFailed on an I/O error."""
        self._used = True
        try:
            self._ticks.write(json.dumps(row) + "\n")
        except (OSError, ValueError) as exc:  # ValueError: the file was closed by an earlier failure
            raise LogWriteFailed(f"writing {self.dir / TICKS_FILE} failed: {exc}") from None

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
        with contextlib.suppress(OSError):  # a failing disk: the lines written so far are what there is
            self._ticks.close()
        if self._summary_fd >= 0:
            os.close(self._summary_fd)
            self._summary_fd = -1
        if not self._used:
            for name in (TICKS_FILE, SUMMARY_FILE):
                (self.dir / name).unlink(missing_ok=True)
            if self._created:
                with contextlib.suppress(OSError):  # something else was put there meanwhile: leave it
                    self.dir.rmdir()
