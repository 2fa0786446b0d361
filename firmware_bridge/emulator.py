"""Build and run the firmware emulator (the real firmware on simavr, UART0 on a pseudo-terminal).

Usage::

    from robokit.firmware_bridge.emulator import Emulator

    with Emulator() as emu:                       # builds into the cache on first use
        port = serial.Serial(emu.port, BAUD, timeout=0.5, write_timeout=2.0)  # link.BAUD
        ...
        pulse = emu.pulses.wait_for(frame=120)     # PulseFrame(frame, widths_us)

Builds go to ``$ROBOKIT_CACHE`` (default ``~/.cache/robokit``) under a hash of the C sources, never into
the source tree. ``robokit emulate`` (robokit/cli/emulate.py) does the same from the command line.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from robokit.firmware_bridge.pulses import PulseFrame, PulseReader

_HERE = Path(__file__).resolve().parent
FIRMWARE_SRC = _HERE / "firmware"
EMULATOR_SRC = _HERE / "emulator"
SIMAVR_HEADER = Path("/usr/include/simavr/sim_avr.h")
BUILD_TIMEOUT_S = 300.0  # one make run (firmware or emulator); a build takes a few seconds


class EmulatorError(RuntimeError):
    """The emulator could not be built or started, or it died."""


def cache_dir() -> Path:
    """Where builds go: ``$ROBOKIT_CACHE`` or ``~/.cache/robokit``."""
    return Path(os.environ.get("ROBOKIT_CACHE") or Path.home() / ".cache" / "robokit")


def missing_tools() -> str | None:
    """None if avr-gcc, make, gcc and the simavr headers are present, else what is missing."""
    missing = [t for t in ("avr-gcc", "avr-size", "make", "gcc") if shutil.which(t) is None]
    if not SIMAVR_HEADER.is_file():
        missing.append("libsimavr-dev (sim_avr.h)")
    if not missing:
        return None
    return "missing " + ", ".join(missing) + " (apt install gcc-avr avr-libc simavr libsimavr-dev libelf-dev)"


def source_hash() -> str:
    """Hash of every firmware and emulator source file (names and contents)."""
    h = hashlib.sha256()
    for folder in (FIRMWARE_SRC, EMULATOR_SRC):
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in {".c", ".h", ""}:
                h.update(f"{folder.name}/{path.name}\0".encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


class EepromInUseError(EmulatorError):
    """Another emulator runs on the same EEPROM image (both would save over each other's writes)."""


def lock_eeprom(image: Path) -> int:
    """Take an exclusive lock for ``image``'s life in this emulator; returns the lock's file descriptor.

    The lock is a file named by the hash of the image's real path in ``$TMPDIR/robokit-eeprom-locks/``
    (the emulator saves the image by writing a temporary file and renaming it, so a lock on the image's
    own inode would not survive its first save, and a lock file beside the image would clutter the user's
    folder). Raises EepromInUseError if another process holds it, EmulatorError if it cannot be made."""
    lock = _eeprom_lock_path(image)
    while True:
        try:
            lock.parent.mkdir(mode=0o1777, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise EmulatorError(f"cannot lock EEPROM image {image}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise EepromInUseError(
                f"EEPROM image {image} in use by another emulator; stop it or give another --eeprom"
            ) from None
        try:  # the holder may have removed the lock file between our open and flock: lock the new one
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _eeprom_lock_path(image: Path) -> Path:
    key = hashlib.sha256(os.fsencode(os.path.realpath(image))).hexdigest()[:32]
    return Path(tempfile.gettempdir()) / "robokit-eeprom-locks" / f"{key}.lock"


def unlock_eeprom(image: Path, fd: int) -> None:
    """Remove the lock file taken by lock_eeprom (while still holding it), then release it."""
    with contextlib.suppress(OSError):
        os.unlink(_eeprom_lock_path(image))
    os.close(fd)


@dataclass(frozen=True)
class Build:
    """Paths of one build: ``firmware_elf`` (AVR) and ``emulator`` (host executable)."""

    dir: Path
    firmware_elf: Path
    emulator: Path


def _make(src: Path, build_dir: Path) -> None:
    try:
        proc = subprocess.run(
            ["make", "-C", str(src), f"BUILD={build_dir}"],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise EmulatorError(f"building {src.name} took over {BUILD_TIMEOUT_S:.0f} s") from exc
    if proc.returncode != 0:
        raise EmulatorError(f"building {src.name} failed:\n{proc.stdout}\n{proc.stderr}")


def build(force: bool = False) -> Build:
    """Build firmware and emulator into the cache if not built yet (safe across processes)."""
    reason = missing_tools()
    if reason:
        raise EmulatorError(reason)
    root = cache_dir() / "firmware_bridge"
    root.mkdir(parents=True, exist_ok=True)
    final = root / source_hash()
    result = Build(final, final / "firmware.elf", final / "emulator")
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "ok").is_file() and not force:
            return result
        work = Path(tempfile.mkdtemp(dir=root, prefix="build-"))
        try:
            for folder in (FIRMWARE_SRC, EMULATOR_SRC):
                shutil.copytree(folder, work / "src" / folder.name)
                _make(work / "src" / folder.name, work)
            (work / "ok").write_text("ok\n")
            shutil.rmtree(final, ignore_errors=True)
            work.rename(final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return result


def avr_size(elf: Path) -> dict[str, int]:
    """Flash and RAM use of ``elf`` in bytes: flash = text + data, ram = data + bss."""
    out = subprocess.run(
        ["avr-size", "--format=berkeley", str(elf)], capture_output=True, text=True, check=True, timeout=60
    )
    text, data, bss = (int(v) for v in out.stdout.splitlines()[1].split()[:3])
    return {"text": text, "data": data, "bss": bss, "flash_bytes": text + data, "ram_bytes": data + bss}


def describe_exit(returncode: int | None) -> str:
    """'still running', 'exit code N' or 'killed by SIGKILL' for a Popen returncode."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class Emulator:
    """Context manager running one emulator: ``port`` (pty path), ``pulses`` (PulseReader),
    ``link`` (the pty bridge's byte counters from the last LINK line: in, out, dropped, resets).

    eeprom: image file loaded at start and saved on change and at exit (calibration survives a restart).
    realtime: pace the simulated MCU to the wall clock (default; slew speed and watchdog need it).
    stderr: where to copy the emulator's stderr lines as they come (None: only kept, see stderr_tail).
    """

    def __init__(
        self,
        eeprom: str | Path | None = None,
        realtime: bool = True,
        start_timeout_s: float = 30.0,
        stderr: TextIO | None = None,
    ) -> None:
        self.eeprom = Path(eeprom) if eeprom else None
        self.realtime = realtime
        self.start_timeout_s = start_timeout_s
        self.port: str = ""
        self.pulses = PulseReader()
        self.link: dict[str, int] = {}
        self.build: Build | None = None
        self._echo = stderr
        self._proc: subprocess.Popen[str] | None = None
        self._port_ready = threading.Event()
        self._stderr: collections.deque[str] = collections.deque(maxlen=50)
        self._readers: list[threading.Thread] = []
        self._stopping = False
        self._eeprom_lock: int | None = None

    def start(self) -> Emulator:
        """Build if needed and start; raises EepromInUseError if another emulator has the image."""
        if self.eeprom and self._eeprom_lock is None:
            self._eeprom_lock = lock_eeprom(self.eeprom)
        try:
            return self._start()
        except BaseException:
            self._unlock()
            raise

    def _unlock(self) -> None:
        if self._eeprom_lock is not None and self.eeprom is not None:
            unlock_eeprom(self.eeprom, self._eeprom_lock)
            self._eeprom_lock = None

    def _start(self) -> Emulator:
        self.build = build()
        cmd = [str(self.build.emulator), str(self.build.firmware_elf), "--pulses"]
        if self.eeprom:
            cmd += ["--eeprom", str(self.eeprom)]
        if not self.realtime:
            cmd.append("--no-realtime")
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, start_new_session=True
        )
        # a forgotten emulator is stopped when this object goes away or Python exits; if Python is
        # killed, the emulator dies of SIGPIPE at its next PULSE line
        weakref.finalize(self, _terminate, self._proc)
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for t in self._readers:
            t.start()
        if not self._port_ready.wait(self.start_timeout_s) or not self.port:
            code = self.stop()
            raise EmulatorError(
                f"emulator printed no PORT line ({describe_exit(code)}); stderr: {self.stderr_tail() or '(none)'}"
            )
        return self

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            if line.startswith("PULSE "):
                parts = line.split()
                self.pulses._add(PulseFrame(int(parts[1]), tuple(float(w) for w in parts[2:])))
            elif line.startswith("PORT "):
                self.port = line[5:].strip()
                self._port_ready.set()
            elif line.startswith("TIMING "):
                self.pulses.timing = {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
            elif line.startswith("LINK "):
                self.link = {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
        self._port_ready.set()

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line)
            if self._echo is not None:
                with contextlib.suppress(OSError, ValueError):
                    self._echo.write(f"emulator: {line}" if not line.startswith("emulator:") else line)
                    self._echo.flush()

    def stderr_tail(self, lines: int = 10) -> str:
        """The last ``lines`` lines the emulator wrote to stderr ('' if none)."""
        return "".join(list(self._stderr)[-lines:]).rstrip()

    def reset_mcu(self) -> None:
        """Reset the simulated MCU as its reset pin would (a real Uno resets when the port's DTR
        toggles): the firmware reboots released; SRAM and EEPROM are kept. Raises EmulatorError if
        the emulator is not running."""
        if not self.running:
            raise EmulatorError("the emulator is not running")
        assert self._proc is not None
        self._proc.send_signal(signal.SIGUSR1)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """The emulator's exit status (negative: killed by that signal), None while it runs."""
        return self._proc.poll() if self._proc is not None else None

    @property
    def died(self) -> bool:
        """True if the emulator ended without stop() being called (crash, signal, MCU stopped)."""
        return self._proc is not None and not self._stopping and self._proc.poll() is not None

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """SIGTERM (the emulator saves its EEPROM image and exits), then SIGKILL after timeout_s.
        Returns its exit status; the last TIMING and LINK lines are read before it returns."""
        if self._proc is None:
            self._unlock()
            return None
        self._stopping = self._stopping or self._proc.poll() is None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for t in self._readers:
            if t is not threading.current_thread():
                t.join(timeout=2.0)
        self._unlock()  # after the emulator's last save
        return self._proc.returncode

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _terminate(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
