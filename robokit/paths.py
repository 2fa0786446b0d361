"""Checks of the paths a command is given, run before anything moves or is written.

Every check raises ``PathError`` (a ValueError) with one line naming the option (``what``, e.g. ``--out``)
and the reason: an empty path, a name too long, a path under a regular file, a broken symlink or symlink
loop, a folder that does not take a new file (/proc, /sys, read-only, no permission). The output checks
really try: they create the missing folders and a probe file (and rename it), then remove all of it, so a
check as root on /proc fails as the real write would, and a passing check leaves nothing behind.
Standard library only (the CLI imports this before anything heavy)."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

PROBE_PREFIX = ".robokit-probe-"


class PathError(ValueError):
    """A path option that cannot be used (a usage error: commands print it as one line and exit 2)."""


def _text(path: str | os.PathLike) -> str:
    return os.fspath(path) if not isinstance(path, str) else path


def _basic(path: str | os.PathLike, what: str) -> Path:
    """Refuse an empty path, a NUL byte, and names longer than the system allows; return the Path."""
    text = _text(path)
    if not text.strip():
        raise PathError(f"{what} is empty: name a path")
    if "\0" in text:
        raise PathError(f"{what} contains a NUL byte")
    raw = os.fsencode(text)
    path_max = _limit("PC_PATH_MAX", 4096)
    if len(os.fsencode(os.path.abspath(text))) >= path_max:
        raise PathError(f"{what}: path too long ({len(raw)} bytes; this system allows {path_max - 1})")
    name_max = _limit("PC_NAME_MAX", 255)
    for part in raw.split(b"/"):
        if len(part) > name_max:
            shown = os.fsdecode(part[:24]) + "..."
            raise PathError(
                f"{what}: file or folder name {shown!r} too long ({len(part)} bytes; the limit is {name_max})"
            )
    return Path(text)


def _limit(name: str, default: int) -> int:
    try:
        return int(os.pathconf("/", name))
    except (OSError, ValueError):
        return default


def _oserror(what: str, path: Path, exc: OSError) -> PathError:
    """A one-line PathError for an OSError met while checking ``path``."""
    reason = {
        errno.ENAMETOOLONG: "name too long",
        errno.ELOOP: "a symlink loop",
        errno.ENOTDIR: "a part of it is a file, not a folder",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    return PathError(f"{what} {path}: {reason}")


def _stat(path: Path, what: str) -> os.stat_result | None:
    """stat(path) following symlinks; None if nothing is there. A dangling symlink or a symlink loop,
    a path under a file, a name too long: PathError."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise PathError(f"{what} {path}: a symlink to nothing (broken link)") from None
        return None
    except OSError as exc:
        raise _oserror(what, path, exc) from None


def _nearest_existing(path: Path, what: str) -> tuple[Path, list[Path]]:
    """The nearest existing ancestor of ``path`` (itself included), which must be a folder, and the
    missing folders below it, outermost first."""
    missing: list[Path] = []
    current = Path(os.path.abspath(path))
    while (st := _stat(current, what)) is None:
        missing.insert(0, current)
        current = current.parent
    if not stat.S_ISDIR(st.st_mode):
        raise PathError(f"{what} {path}: {current} is a file, not a folder")
    return current, missing


def _probe_folder(folder: Path, missing: list[Path], what: str, shown: Path) -> None:
    """Create the ``missing`` folders, then a file in ``folder`` and rename it; remove all of it again."""
    made: list[Path] = []
    try:
        for sub in missing:
            os.mkdir(sub)
            made.append(sub)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=PROBE_PREFIX)
        os.close(fd)
        renamed = tmp + ".renamed"
        try:
            os.replace(tmp, renamed)
        finally:
            for name in (tmp, renamed):
                if os.path.lexists(name):
                    os.unlink(name)
    except OSError as exc:
        where = missing[0].parent if missing else folder
        raise PathError(f"{what} {shown}: cannot write in {where} ({exc.strerror or exc})") from None
    finally:
        for sub in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(sub)


def check_output_dir(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path if it is a folder (existing or creatable) that takes a new file; else PathError.
    Nothing is left behind: folders the probe created are removed again."""
    p = _basic(path, what)
    st = _stat(p, what)
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise PathError(f"{what} {p} is a file; name a folder")
    _, missing = _nearest_existing(p, what)
    _probe_folder(Path(os.path.abspath(p)), missing, what, p)
    return p


def check_output_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path if a file can be written there (it is a regular file or absent, and its folder,
    existing or creatable, takes a new file and a rename); else PathError. Nothing is left behind."""
    p = _basic(path, what)
    if _text(path).endswith(os.sep):
        raise PathError(f"{what} {p}: names a folder; name a file")
    st = _stat(p, what)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise PathError(f"{what} {p} is a folder; name a file")
        if not stat.S_ISREG(st.st_mode):
            raise PathError(f"{what} {p} exists and is not a regular file")
    parent = Path(os.path.abspath(p)).parent
    _, missing = _nearest_existing(parent, what)
    _probe_folder(parent, missing, what, p)
    return p


def check_input_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path if it is a regular file that can be opened for reading; else PathError."""
    p = _basic(path, what)
    st = _stat(p, what)
    if st is None:
        raise PathError(f"{what} {p} does not exist")
    if stat.S_ISDIR(st.st_mode):
        raise PathError(f"{what} {p} is a folder; name a file")
    if not stat.S_ISREG(st.st_mode):
        raise PathError(f"{what} {p} is not a regular file")
    try:
        with open(p, "rb"):
            pass
    except OSError as exc:
        raise _oserror(what, p, exc) from None
    return p


def read_small_file(path: str | os.PathLike, max_bytes: int, what: str = "file") -> str:
    """The UTF-8 text of regular file ``path``, at most ``max_bytes``. A device, FIFO or directory is refused
    before it is opened (reading /dev/zero never ends, opening a FIFO waits for a writer) and again on the
    open file, opened without blocking. Raises OSError (saying why, naming ``what``), UnicodeDecodeError."""
    not_regular = f"not a regular file (a device, a FIFO or a directory), so not a {what}"
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(not_regular)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped since the check above
            raise OSError(not_regular)
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise OSError(f"larger than {max_bytes} bytes, so not a {what}")
    return data.decode("utf-8")
