"""Issue 9 attack findings on `robokit arm` and the port, against the real firmware in simavr (real
pseudo-terminals, real pyserial): an arm is always stoppable, URLs that wrap a device lock it, status
shows every counter, enable/home agree on a tripped watchdog, CONFIG length errors count as bad_msg."""

import dataclasses
import errno
import os
import re
import subprocess
import sys
import time

import pytest
import serial

from robokit.cli import main
from robokit.firmware_bridge import protocol as pr
from robokit.firmware_bridge.framing import cobs_encode, pack_raw
from robokit.firmware_bridge.hardware_arm import ArmMismatch, HardwareArm
from robokit.firmware_bridge.link import BAUD
from robokit.firmware_bridge.serial_port import PortBusy, PortError, open_port
from robokit.robots import get_robot

from .host_helpers import Emulator, needs_emulator
from .test_c_protocol import probe  # noqa: F401 - the host-compiled firmware codec, a fixture
from .test_port_lock import _plain_open_as

SPEC = get_robot("servo_arm")
WIDE = 31416  # 3.1416 rad in 100 urad: limits the servo_arm spec does not have


def _raw_request(port: str, msg: pr.Message, timeout_s: float = 1.0) -> pr.Message:
    """One request from an outside client (not HardwareArm: no checks), its reply."""
    dec = pr.FrameDecoder()
    with serial.Serial(port, BAUD, timeout=0.02, write_timeout=2.0) as ser:
        ser.write(b"\x00" + pr.encode_frame(msg))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for reply in dec.feed(ser.read(max(1, ser.in_waiting))):
                if reply.seq == msg.seq:
                    return reply
    raise TimeoutError(f"no reply to {type(msg).__name__}")


def _mismatched_and_pulsing(emu: Emulator) -> None:
    """Write limits wider than the spec's into the firmware, then enable it as an outside client would."""
    with HardwareArm(emu.port, SPEC, on_close="release") as arm:
        joints = tuple(
            dataclasses.replace(j, lower_100urad=-WIDE, upper_100urad=WIDE) for j in arm.info.joints
        )
        arm.configure(joints, arm.info.watchdog_timeout_ms, pr.WATCHDOG_HOLD, check=False)
        pose = (0,) * len(arm.info.joints)
    state = _raw_request(emu.port, pr.Enable(seq=7, pose_100urad=pose))
    assert isinstance(state, pr.State) and state.enabled
    time.sleep(0.1)
    assert all(w > 0 for w in emu.pulses.latest().widths_us)  # the arm is pulsing


@needs_emulator
@pytest.mark.parametrize("action", ["estop", "release"])
def test_estop_and_release_stop_an_arm_whose_firmware_does_not_match(action, capsys):
    with Emulator() as emu:
        _mismatched_and_pulsing(emu)
        with pytest.raises(ArmMismatch):  # a normal connection still refuses it
            HardwareArm(emu.port, SPEC)
        assert main(["arm", action, "--port", emu.port]) == 0
        out, err = capsys.readouterr()
        assert "warning: firmware on" in err and "does not match servo_arm" in err
        time.sleep(0.1)
        assert emu.pulses.latest().widths_us == (0.0,) * 6  # pulses stopped
        assert main(["arm", "status", "--port", emu.port]) == 0
        out, err = capsys.readouterr()
        state = "e-stop latched" if action == "estop" else "released: no pulses"
        assert f"state: {state}" in out and "does not match servo_arm" in err
        # moving it is still refused, nothing sent
        assert main(["arm", "enable", "--port", emu.port]) == 2
        assert main(["arm", "home", "--port", emu.port]) == 2
        time.sleep(0.1)
        assert emu.pulses.latest().widths_us == (0.0,) * 6


@needs_emulator
def test_a_mismatched_arm_connected_for_stopping_refuses_to_move():
    with Emulator() as emu:
        _mismatched_and_pulsing(emu)
        with HardwareArm(emu.port, SPEC, refuse_mismatch=False) as arm:
            assert arm.mismatch and "does not match servo_arm" in arm.mismatch
            for move in (arm.enable, lambda: arm.command(SPEC.home_q), arm.clear):
                with pytest.raises(ArmMismatch, match="not sent"):
                    move()
            assert arm.estop().estop_latched


@needs_emulator
def test_status_shows_rx_overflow_and_the_released_hint_says_what_enable_does(capsys):
    with Emulator() as emu:
        assert main(["arm", "status", "--port", emu.port]) == 0
        out = capsys.readouterr().out
        assert "bad_msg=0, rx_overflow=0" in out
        assert (
            "`robokit arm enable` resumes them at the last setpoints (home after power-on) and slews home"
            in out
        )
        assert "starts them at the home pose" not in out


@needs_emulator
@pytest.mark.parametrize("action", ["hold", "release"])
def test_enable_clears_a_tripped_watchdog_and_says_so_as_home_does(action, capsys):
    with Emulator() as emu:
        with HardwareArm(emu.port, SPEC) as arm:  # closed enabled: the watchdog trips once the host is silent
            wd = {"hold": pr.WATCHDOG_HOLD, "release": pr.WATCHDOG_RELEASE}[action]
            arm.configure(arm.info.joints, 300, wd)
            arm.enable()
        time.sleep(0.6)
        with HardwareArm(emu.port, SPEC) as arm:
            assert arm.read().watchdog_tripped
        assert main(["arm", "enable", "--port", emu.port]) == 0
        out, err = capsys.readouterr()
        assert "clearing the tripped watchdog" in err
        assert "state: enabled: pulses on" in out
        with HardwareArm(emu.port, SPEC) as arm:
            s = arm.read()
            assert not s.watchdog_tripped and not s.released


@pytest.fixture
def pty_path():
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(slave)
    os.close(master)


@pytest.mark.parametrize("wrap", ["spy://{}", "alt://{}", "alt://{}?class=Serial"])
def test_urls_wrapping_a_device_lock_it_as_its_path_does(pty_path, wrap):
    url = wrap.format(pty_path)
    held = open_port(url, BAUD)
    try:
        with pytest.raises(PortBusy, match=f"port busy: {pty_path} is held by pid {os.getpid()}"):
            open_port(pty_path, BAUD)
    finally:
        held.close()
    held = open_port(pty_path, BAUD)
    try:
        with pytest.raises(PortBusy, match=f"port busy: {pty_path}"):
            open_port(url, BAUD)
    finally:
        held.close()


def test_a_spy_url_sets_tiocexcl_on_its_device_while_open(pty_path):
    uid = None
    if os.geteuid() == 0:
        uid = 65534  # nobody: root itself may always open a TIOCEXCL tty
        os.chmod(pty_path, 0o666)
    ser = open_port(f"spy://{pty_path}", BAUD)
    assert _plain_open_as(pty_path, uid) == errno.EBUSY
    ser.close()
    assert _plain_open_as(pty_path, uid) == 0


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("alt://{}?class=PosixPollSerial", "only with class=Serial"),
        ("alt://{}?class=Nope", "only with class=Serial"),
        ("cp2110://0001:0002", "unsupported port URL scheme 'cp2110'"),
        ("bogus://x", "unsupported port URL scheme 'bogus'"),
        ("spy://", "spy:// needs a device path"),
        ("hwgrep://no-such-port-anywhere", "no serial port matches"),
        ("hwgrep://tty&n=2", "without options"),
        ("hwgrep://[", "bad regular expression"),
    ],
)
def test_unsupported_url_forms_are_refused_in_one_line(pty_path, url, why):
    with pytest.raises(PortError, match=re.escape(why)):
        open_port(url.format(pty_path), BAUD)


@needs_emulator
def test_robokit_arm_on_a_spy_or_alt_url_of_a_held_port_is_busy_and_the_holder_keeps_working(capsys):
    with Emulator() as emu, HardwareArm(emu.port, SPEC) as arm:
        arm.enable()
        for url in (f"spy://{emu.port}", f"alt://{emu.port}"):
            assert main(["arm", "--port", url, "estop"]) == 2
            assert f"port busy: {emu.port} is held by pid {os.getpid()}" in capsys.readouterr().err
        s = arm.read()
        assert not s.estop_latched and not s.released


@needs_emulator
def test_an_unsupported_alt_class_exits_2_in_one_line_without_a_traceback():
    with Emulator() as emu:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "robokit.cli",
                "arm",
                "--port",
                f"alt://{emu.port}?class=PosixPollSerial",
                "estop",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        assert "only with class=Serial" in proc.stderr
        with HardwareArm(emu.port, SPEC) as arm:  # nothing was sent
            assert not arm.read().estop_latched


def _raw_frame(msg_type: int, seq: int, payload: bytes) -> bytes:
    return cobs_encode(pack_raw(msg_type, seq, payload)) + b"\x00"


@needs_emulator
@pytest.mark.parametrize("enabled", [False, True])
def test_a_config_of_wrong_length_is_bad_length_and_counts_in_bad_msg(enabled):
    """docs/protocol.md: a message with a wrong payload length gets ERROR BAD_LENGTH and counts in
    bad_msg; CONFIG is no exception (it used to get BAD_CONFIG, or NOT_RELEASED, uncounted)."""
    with Emulator() as emu, HardwareArm(emu.port, SPEC) as arm:
        if enabled:
            arm.enable()
        good = pr.Config(0, 500, pr.WATCHDOG_RELEASE, arm.info.joints).payload()
        before = arm.read().extra["bad_msg"]
        for i, payload in enumerate([good[:-1], good + b"\x01", good[:4], b"", good[:18]]):
            arm.link.ser.write(_raw_frame(pr.Config.TYPE, 200 + i, payload))
            reply = arm.link.request(pr.Ping(seq=100 + i))  # in order: the CONFIG's reply came first
            assert isinstance(reply, pr.State)
            err = arm.link.replies.pop(200 + i)
            assert isinstance(err, pr.Error) and err.name == "BAD_LENGTH", (len(payload), err)
            assert reply.bad_msg == before + i + 1
        info = arm.link.request(pr.Hello(seq=99))  # nothing stored
        assert isinstance(info, pr.Info) and info.watchdog_action == pr.WATCHDOG_HOLD


def test_c_unpack_config_tells_a_wrong_length_from_a_bad_config(probe, vectors):  # noqa: F811
    good = next(v["payload_hex"] for v in vectors["config_checks"] if v["result"] == "ok")
    wrong_n = good[:6] + "05" + good[8:]  # the joint count byte, at the right length
    out = probe([f"config {h}" for h in (good[:-2], good + "00", good[:8], wrong_n)])
    assert out == ["ERR 2", "ERR 2", "ERR 2", "ERR 6"]  # ERR_BAD_LENGTH x3, ERR_BAD_CONFIG
