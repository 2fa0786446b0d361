"""Issue 9 attack findings on `robokit arm` and the port, against the real firmware in simavr (real
pseudo-terminals, real pyserial): an arm is always stoppable, URLs that wrap a device lock it, status
shows every counter, enable/home agree on a tripped watchdog, CONFIG length errors count as bad_msg."""

import dataclasses
import time

import pytest
import serial

from robokit.cli import main
from robokit.firmware_bridge import protocol as pr
from robokit.firmware_bridge.hardware_arm import ArmMismatch, HardwareArm
from robokit.robots import get_robot

from .host_helpers import Emulator, needs_emulator

SPEC = get_robot("servo_arm")
WIDE = 31416  # 3.1416 rad in 100 urad: limits the servo_arm spec does not have


def _raw_request(port: str, msg: pr.Message, timeout_s: float = 1.0) -> pr.Message:
    """One request from an outside client (not HardwareArm: no checks), its reply."""
    dec = pr.FrameDecoder()
    with serial.Serial(port, 1_000_000, timeout=0.02, write_timeout=2.0) as ser:
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
