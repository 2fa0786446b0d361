"""The one way robokit opens a serial port: exclusively, with read and write timeouts.

A device path (/dev/ttyUSB0, /dev/pts/7, /dev/robokit-arm) is held exclusively for as long as it is
open, so a second program cannot steal replies from a running deploy:

- an advisory lock (``flock(LOCK_EX | LOCK_NB)``, taken by pyserial before it touches the port's
  settings), which every robokit process honours, root included;
- ``TIOCEXCL`` on the open tty, so the kernel refuses any further open() by a non-root program that
  ignores locks (screen, minicom, cat). It is cleared (``TIOCNXCL``) on close.

A second opener gets ``PortBusy`` naming the port and, where /proc/locks shows it, the process holding
it. pyserial URLs that wrap a local device are locked like its path: ``spy:///dev/ttyUSB0`` (the device
is locked, the spy logs), ``alt:///dev/ttyUSB0`` (only ``class=Serial``: other classes fail under
robokit's timeouts) and ``hwgrep://REGEXP`` (resolved to the first matching device, no options). Only
network URLs (``socket://``, ``rfc2217://``, ``loop://``) are exempt; any other scheme is refused.
Every port gets a write timeout: a write that cannot complete raises instead of blocking forever.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import termios
import urllib.parse
from pathlib import Path

import serial

from robokit.core.arm import ArmDisconnected

BAUD_MIN, BAUD_MAX = 300, 4_000_000
DEFAULT_READ_TIMEOUT_S = 0.005
DEFAULT_WRITE_TIMEOUT_S = 0.5


class PortError(ArmDisconnected):
    """The port cannot be opened (missing, bad settings)."""


class PortBusy(PortError):
    """Another program holds the port."""


class PortPermissionError(PortError):
    """The port exists but this user may not open it."""


NETWORK_SCHEMES = ("socket", "rfc2217", "loop")  # not files: whatever serves them decides who connects
SUPPORTED_FORMS = "a device path, spy://PATH, alt://PATH, hwgrep://REGEXP, socket://, rfc2217:// or loop://"


def is_device_path(url: str) -> bool:
    """True for a file path (locked when opened), False for a pyserial URL such as socket://host:port."""
    return "://" not in url


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def device_of(url: str) -> str | None:
    """The local device ``url`` opens (a path; a spy:// or alt:// URL's path; the device a hwgrep://
    regexp matches), None for a network URL. Raises PortError for a form robokit does not support
    (unknown scheme, alt:// with a class other than Serial, hwgrep:// options, no hwgrep:// match)."""
    scheme = _scheme(url)
    if not scheme:
        return url
    if scheme in NETWORK_SCHEMES:
        return None
    rest = url.split("://", 1)[1]
    path, _, query = rest.partition("?")
    if scheme == "spy":
        if not path:
            raise PortError(f"cannot open {url}: spy:// needs a device path (spy:///dev/ttyUSB0)")
        return path
    if scheme == "alt":
        options = urllib.parse.parse_qs(query, keep_blank_values=True)
        if not path or set(options) - {"class"} or options.get("class", ["Serial"]) != ["Serial"]:
            raise PortError(
                f"cannot open {url}: robokit supports alt://PATH only with class=Serial (the default); "
                "use the device path"
            )
        return path
    if scheme == "hwgrep":
        return _hwgrep_device(url, rest)
    raise PortError(f"cannot open {url}: unsupported port URL scheme {scheme!r}; use {SUPPORTED_FORMS}")


def _hwgrep_device(url: str, regexp: str) -> str:
    """The first device (sorted, as pyserial picks) whose name, description or hardware id matches."""
    from serial.tools import list_ports

    if not regexp or "&" in regexp:
        raise PortError(f"cannot open {url}: robokit supports hwgrep://REGEXP without options")
    try:
        found = sorted(list_ports.grep(regexp))
    except re.error as exc:
        raise PortError(f"cannot open {url}: bad regular expression ({exc})") from None
    if not found:
        raise PortError(f"cannot open {url}: no serial port matches {regexp!r}")
    return found[0][0]


def check_baud(baud: int) -> int:
    """A baud rate a serial port can run at; returns it. Raises ValueError."""
    if isinstance(baud, bool) or not isinstance(baud, int) or not BAUD_MIN <= baud <= BAUD_MAX:
        raise ValueError(f"baud rate {baud!r} is not one a serial port runs at ({BAUD_MIN}..{BAUD_MAX})")
    return baud


class _Exclusive:
    """Mixin for a POSIX pyserial class: TIOCEXCL after opening, cleared before closing (on a
    pseudo-terminal the flag would otherwise outlive the close while the other end is open)."""

    def open(self) -> None:
        super().open()
        with contextlib.suppress(OSError):  # not a tty (a plain file or a FIFO): the flock still holds
            fcntl.ioctl(self.fd, termios.TIOCEXCL)

    def close(self) -> None:
        if self.is_open and self.fd is not None:
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.fd, termios.TIOCNXCL)
        super().close()


class ExclusiveSerial(_Exclusive, serial.Serial):
    """pyserial's POSIX Serial with TIOCEXCL while open (plus pyserial's flock with ``exclusive=True``)."""


def lock_holder(path: str) -> str | None:
    """'pid N (command line)' of the process holding an flock on ``path``, from /proc/locks; None if
    no lock is visible (or /proc is not there)."""
    try:
        st = os.stat(path)
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in lines:
        parts = line.split()
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == want:
            pid = parts[4]
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                cmd = ""
            cmd = cmd.strip()
            cmd = cmd if len(cmd) <= 100 else cmd[:97] + "..."
            return f"pid {pid}" + (f" ({cmd})" if cmd else "")
    return None


def _busy_message(url: str) -> str:
    holder = lock_holder(url)
    who = f"held by {holder}" if holder else "opened exclusively by another program"
    return (
        f"port busy: {url} is {who}; robokit opens a serial port exclusively, so only one program talks "
        "to the arm at a time"
    )


def _open_error(url: str, exc: serial.SerialException) -> PortError:
    code = getattr(exc, "errno", None)
    if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY):
        return PortBusy(_busy_message(url))
    if code == errno.EACCES or "Permission denied" in str(exc):
        return PortPermissionError(
            f"no permission to open {url}. Add yourself to the 'dialout' group "
            "(sudo usermod -aG dialout $USER, then log out and in) or install the udev rule in "
            "docs/hardware.md."
        )
    if code == errno.ENOENT:
        return PortError(f"cannot open {url}: no such port (is the arm plugged in, is the emulator running?)")
    return PortError(f"cannot open {url}: {exc}")


def open_port(
    url: str,
    baud: int,
    *,
    timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S,
) -> serial.SerialBase:
    """Open ``url`` at ``baud``: a device path exclusively (flock + TIOCEXCL), a URL as pyserial does.

    timeout_s: read timeout (s); write_timeout_s: a write that takes longer raises
    ``serial.SerialTimeoutException``. Raises PortBusy, PortPermissionError or PortError (all
    ArmDisconnected) and nothing else."""
    try:
        check_baud(baud)
    except ValueError as exc:
        raise PortError(str(exc)) from None
    device = device_of(url)
    settings = {"baudrate": baud, "timeout": timeout_s, "write_timeout": write_timeout_s}
    try:
        if device is None:
            return serial.serial_for_url(url, **settings)
        if _scheme(url) != "spy":
            return ExclusiveSerial(device, exclusive=True, **settings)
        ser = serial.serial_for_url(url, do_not_open=True, exclusive=True, **settings)
        ser.__class__ = type(f"Exclusive{type(ser).__name__}", (_Exclusive, type(ser)), {})
        ser.open()  # the spy's device: flock + TIOCEXCL, as a plain path
        return ser
    except serial.SerialException as exc:
        raise _open_error(device or url, exc) from exc
    except (ValueError, OSError) as exc:  # a malformed URL, a bad setting
        raise PortError(f"cannot open {url}: {exc}") from exc
