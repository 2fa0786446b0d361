"""`robokit emulate` reports the death of its simavr child (issue 9, item 17): how it died, the tail of
its stderr, and a non-zero exit. Runs the real command and the real emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("emulator_build")


def start_emulate(*args: str) -> tuple[subprocess.Popen[str], str]:
    """`robokit emulate ARGS` in a subprocess; (process, pty path from its PORT line)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "robokit.cli", "emulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as from a terminal, even under a runner started in the background (which ignores SIGINT)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=60.0)  # never hang the suite on a command that prints nothing
    if not lines:
        proc.kill()
        raise AssertionError("robokit emulate printed no PORT line within 60 s")
    assert lines[0].startswith("PORT /dev/"), lines[0]
    return proc, lines[0].split()[1]


def emulator_child(parent_pid: int) -> int:
    """Pid of the simavr emulator started by ``parent_pid``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if int(rest[1]) == parent_pid and comm == "emulator":
            return int(entry.name)
    raise AssertionError(f"no emulator child of {parent_pid}")


def finish(proc: subprocess.Popen[str], timeout_s: float = 10.0) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, err


def test_a_killed_emulator_is_reported_and_emulate_exits_1():
    proc, _ = start_emulate()
    os.kill(emulator_child(proc.pid), signal.SIGKILL)
    code, err = finish(proc)
    assert code == 1  # used to exit 0, printing nothing
    assert "the emulator" in err and "died: killed by SIGKILL" in err
    assert "it wrote nothing to stderr" in err


def test_the_emulators_stderr_is_shown_live_and_its_tail_when_it_dies(tmp_path):
    """The emulator cannot save its EEPROM image (its folder is gone) and then ends on SIGTERM from
    someone else: its message appears on stderr, and robokit emulate says it died."""
    folder = tmp_path / "ee"
    folder.mkdir()
    proc, _ = start_emulate("--eeprom", str(folder / "eeprom.bin"))
    child = emulator_child(proc.pid)
    folder.rmdir()
    os.kill(child, signal.SIGTERM)
    code, err = finish(proc)
    assert code == 1
    assert "died: exit code 0" in err
    assert err.count("emulator: cannot write") >= 2  # copied as it came, and again in the tail
    assert "its last stderr lines:" in err


def test_ctrl_c_stops_the_emulator_and_exits_0():
    proc, _ = start_emulate()
    child = emulator_child(proc.pid)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    code, err = finish(proc)
    assert code == 0, err
    assert "died" not in err
    assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text()


@pytest.mark.parametrize("size", [10, 2048])
def test_an_eeprom_file_that_is_not_an_image_is_refused_and_left_alone(tmp_path, size):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"x" * size)
    proc = subprocess.run(
        [sys.executable, "-m", "robokit.cli", "emulate", "--eeprom", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("robokit emulate: --eeprom") and "1024" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert path.read_bytes() == b"x" * size


@pytest.mark.parametrize("where", ["a folder", "a missing folder"])
def test_an_eeprom_path_that_cannot_hold_an_image_is_a_usage_error(tmp_path, where):
    path = tmp_path if where == "a folder" else tmp_path / "missing" / "ee.bin"
    proc = subprocess.run(
        [sys.executable, "-m", "robokit.cli", "emulate", "--eeprom", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("robokit emulate: --eeprom")
