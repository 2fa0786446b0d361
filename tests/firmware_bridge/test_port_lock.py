"""A serial port is held by one robokit process at a time: a second one gets 'port busy' and exit 2,
and the first carries on (issue 9, item 7). Every port robokit opens has a write timeout (item 6).

The unit tests use real pseudo-terminals from os.openpty(); the end-to-end tests run two real robokit
processes against the real firmware in simavr.
"""

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import serial

from robokit.firmware_bridge.hardware_arm import HardwareArm
from robokit.firmware_bridge.link import BAUD
from robokit.firmware_bridge.serial_port import PortBusy, lock_holder, open_port

from .host_helpers import Emulator, needs_emulator, scripted_policy_file


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    yield os.ttyname(slave), master
    os.close(slave)
    os.close(master)


def test_a_second_open_is_refused_naming_the_port_and_the_holder_and_the_first_keeps_working(pty_pair):
    path, master = pty_pair
    first = open_port(path, BAUD)
    try:
        with pytest.raises(PortBusy) as exc:
            open_port(path, BAUD)
        msg = str(exc.value)
        assert msg.startswith(f"port busy: {path} is held by pid {os.getpid()}")
        first.write(b"still mine")
        assert os.read(master, 100) == b"still mine"
        os.write(master, b"reply")
        assert first.read(5) == b"reply"
    finally:
        first.close()
    open_port(path, BAUD).close()  # free again once closed


def _plain_open_as(path: str, uid: int | None) -> int:
    """errno of a plain open() (no lock taken, as screen or cat would) of ``path``, 0 if it opened;
    as ``uid`` in a forked child if given (root is exempt from TIOCEXCL)."""
    if uid is None:
        try:
            os.close(os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
            return 0
        except OSError as exc:
            return exc.errno
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop to an unprivileged user, try, report the errno
        os.close(r)
        code = 255
        try:
            os.setgid(uid)
            os.setuid(uid)
            code = _plain_open_as(path, None)
        finally:
            os.write(w, bytes([code]))
            os._exit(0)
    os.close(w)
    code = os.read(r, 1)[0]
    os.close(r)
    os.waitpid(pid, 0)
    return code


def test_tiocexcl_refuses_a_program_that_ignores_locks_until_the_port_is_closed(pty_pair):
    path, _ = pty_pair
    uid = None
    if os.geteuid() == 0:
        uid = 65534  # nobody: root itself may always open a TIOCEXCL tty
        os.chmod(path, 0o666)
    assert _plain_open_as(path, uid) == 0
    ser = open_port(path, BAUD)
    assert _plain_open_as(path, uid) == errno.EBUSY
    ser.close()
    assert _plain_open_as(path, uid) == 0  # TIOCNXCL on close: a pty would otherwise stay exclusive


def test_socket_urls_are_not_locked():
    srv = socket.create_server(("127.0.0.1", 0))
    url = f"socket://127.0.0.1:{srv.getsockname()[1]}"
    try:
        a, b = open_port(url, BAUD), open_port(url, BAUD)
        assert a.is_open and b.is_open
        a.close()
        b.close()
    finally:
        srv.close()


def test_a_write_nobody_reads_times_out_instead_of_blocking(pty_pair):
    path, _ = pty_pair  # nobody reads the master: the pty's buffer fills up
    ser = open_port(path, BAUD, write_timeout_s=0.2)
    t0 = time.monotonic()
    with pytest.raises(serial.SerialTimeoutException):
        for _ in range(1000):
            ser.write(b"\x55" * 4096)
    assert time.monotonic() - t0 < 2.0
    ser.close()


def _robokit(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "robokit.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kw,
    )


def _wait_for_holder(port: str, pid: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not (lock_holder(port) or "").startswith(f"pid {pid} "):
        assert time.monotonic() < deadline, f"pid {pid} never took {port}"
        time.sleep(0.05)


def _second_status(port: str) -> tuple[int, str]:
    proc = _robokit("arm", "--port", port, "status")
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.slow  # the default suite stays under 10 minutes; `pytest -m slow` runs it
@needs_emulator
def test_a_second_robokit_arm_is_refused_while_a_deploy_runs_and_the_deploy_is_unaffected(tmp_path):
    policy = scripted_policy_file(tmp_path)
    log = tmp_path / "log"
    with Emulator() as emu:
        deploy = _robokit(
            "deploy", str(policy), "--port", emu.port, "--goal", "0.20,0.05,0.15", "--duration", "5",
            "--quiet", "--log", str(log),
        )  # fmt: skip
        try:
            _wait_for_holder(emu.port, deploy.pid)
            refusals = []
            for _ in range(3):  # while the deploy runs
                refusals.append(_second_status(emu.port))
                time.sleep(0.3)
            out, err = deploy.communicate(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(deploy.pid, signal.SIGKILL)
    for code, err2 in refusals:
        assert code == 2, err2
        assert f"port busy: {emu.port} is held by pid {deploy.pid}" in err2 and "deploy" in err2
        assert len(err2.strip().splitlines()) == 1
    assert deploy.returncode == 0, err
    summary = json.loads((log / "summary.json").read_text())
    assert summary["ticks"] >= 100  # 5 s at 25 Hz, nothing cut short
    ticks = [json.loads(line) for line in (log / "ticks.jsonl").read_text().splitlines()]
    assert all(t.get("targets") is not None for t in ticks)  # every tick sent its targets


@needs_emulator
def test_a_second_robokit_arm_is_refused_while_an_arm_session_waits_for_input(tmp_path):
    cal = tmp_path / "cal.json"
    with Emulator() as emu:
        session = _robokit(
            "arm", "--port", emu.port, "calibrate", "--interactive", "--joint", "elbow", "--out", str(cal),
            stdin=subprocess.PIPE,
        )  # fmt: skip
        try:
            _wait_for_holder(emu.port, session.pid)
            time.sleep(0.5)  # the session is at its prompt, pinging
            code, err = _second_status(emu.port)
            out, err1 = session.communicate("\n", timeout=60)  # Enter: keep the elbow's zero
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(session.pid, signal.SIGKILL)
        assert code == 2 and "port busy" in err and str(session.pid) in err
        assert session.returncode == 0, err1
        assert "lost the arm" not in err1 and json.loads(cal.read_text())["robot"] == "servo_arm"
        with HardwareArm(emu.port, "servo_arm") as arm:  # free again; the session left it enabled
            state = arm.read()
            assert not state.released
            assert np.isfinite(state.q).all()


@needs_emulator
def test_deploy_on_a_port_in_use_is_refused_with_exit_2_and_the_holder_is_untouched(tmp_path, capsys):
    from robokit.cli import main

    policy = scripted_policy_file(tmp_path)
    with Emulator() as emu, HardwareArm(emu.port, "servo_arm") as arm:
        before = arm.read()
        code = main(
            [
                "deploy",
                str(policy),
                "--port",
                emu.port,
                "--goal",
                "0.20,0.05,0.15",
                "--log",
                str(tmp_path / "log"),
            ]
        )
        err = capsys.readouterr().err
        after = arm.read()
    assert code == 2 and f"port busy: {emu.port} is held by pid {os.getpid()}" in err
    assert after.released and after.frame > before.frame  # still ours, still answering, never enabled
    assert arm.stats["ping_timeouts"] == 0 and after.extra["bad_frame"] == before.extra["bad_frame"]
