"""The real firmware (avr-gcc) in simavr, over a real pty opened with pyserial, driven by the codec."""

from __future__ import annotations

import os
import signal
import time

import pytest

from robokit.firmware_bridge import fixedpoint as fx
from robokit.firmware_bridge import protocol as p
from robokit.firmware_bridge.emulator import FIRMWARE_SRC, Emulator, avr_size, cache_dir
from robokit.robots import get_robot

from .conftest import Link

SPEC = get_robot("servo_arm")
JOINTS = fx.default_joint_configs(SPEC)
HOME = tuple(j.home_100urad for j in JOINTS)
STEP = tuple(j.max_step_100urad for j in JOINTS)
PULSE_TOL_US = 4.0


def expected_widths_us(setpoints: tuple[int, ...], joints=JOINTS) -> list[float]:
    return [fx.pulse_us(q, j) for q, j in zip(setpoints, joints)]


def keep_alive(link: Link, duration_s: float) -> p.State:
    """PING every 50 ms for ``duration_s`` (feeds the firmware's watchdog); returns the last STATE."""
    end = time.monotonic() + duration_s
    st = link.state()
    while time.monotonic() < end:
        time.sleep(0.05)
        st = link.state()
    return st


def assert_pulses_match(emu: Emulator, frame: int, setpoints: tuple[int, ...], joints=JOINTS) -> None:
    widths = emu.pulses.wait_for(frame).widths_us
    for got, want in zip(widths, expected_widths_us(setpoints, joints)):
        assert abs(got - want) <= PULSE_TOL_US, (frame, widths, setpoints)


def test_hello_handshake_and_no_pulses_before_enable(emu, link):
    info = link.hello()
    assert info.protocol_version == p.PROTOCOL_VERSION == 1
    assert info.firmware_version == fx.FIRMWARE_VERSION
    assert info.n_joints == SPEC.n_joints and info.joints == JOINTS
    assert info.watchdog_timeout_ms == fx.DEFAULT_WATCHDOG_TIMEOUT_MS and info.frame_period_us == 20000
    st = link.state()
    assert not st.enabled and st.setpoints_100urad == HOME
    time.sleep(0.15)
    st2 = link.state()
    assert st2.frame >= st.frame + 5  # frames run, but released: no pulses at all
    for f in range(st.frame + 1, st2.frame):
        assert emu.pulses.wait_for(f).widths_us == (0.0,) * 6
    assert link.stray == []


def test_targets_slew_at_max_speed_and_pulses_match_frame_by_frame(emu, link):
    link.hello()
    st = link.state(p.Enable(pose_100urad=HOME))
    assert st.enabled and st.setpoints_100urad == HOME
    target = (12000, -9000, 2000, 9000, -3000, 10000)
    reply = link.state(p.Targets(targets_100urad=target))
    assert reply.targets_100urad == target and not reply.rejected and not reply.clamped
    t0, f0 = time.monotonic(), reply.frame
    states = [reply]
    while time.monotonic() - t0 < 0.9:  # longest move: 12000 / 600 = 20 frames = 0.4 s
        states.append(link.state())
        time.sleep(0.01)
    # every STATE is the fixed-point servo model run from the TARGETS reply, frame for frame
    sp = reply.setpoints_100urad
    model = {f0: sp}
    for f in range(f0 + 1, states[-1].frame + 1):
        sp = fx.servo_step_fixed(sp, target, STEP)
        model[f] = sp
    for st in states:
        assert st.setpoints_100urad == model[st.frame], st.frame
    assert states[-1].setpoints_100urad == target
    # measured pulse widths match the calibration of the model's setpoints in every frame
    for f in range(f0 + 1, states[-1].frame):
        assert_pulses_match(emu, f, model[f])
    # real time: 50 frames per wall-clock second
    rate = (states[-1].frame - f0) / (time.monotonic() - t0)
    assert 40 < rate < 60, rate


def test_out_of_limit_targets_are_clamped(link):
    link.hello()
    link.state(p.Enable(pose_100urad=HOME))
    reply = link.state(p.Targets(targets_100urad=(30000, -30000, 16000, -16000, 0, -5000)))
    assert reply.clamped and not reply.rejected
    limits = (15708, -15708, 15708, -15708, 0, 0)
    assert reply.targets_100urad == limits
    assert keep_alive(link, 1.0).setpoints_100urad == limits  # longest: 24708 / 600 = 42 frames


def test_bad_crc_and_garbage_are_dropped_counted_and_next_frame_works(link):
    link.hello()
    before = link.state()
    corrupt = bytearray(p.encode_frame(p.Targets(seq=77, targets_100urad=(5000,) * 6)))
    corrupt[3] ^= 0x40 if corrupt[3] != 0x40 else 0x01
    link.send_raw(bytes(corrupt))
    link.send_raw(bytes([0x55, 0xAA, 0x13, 0x37, 0x99]) + b"\x00")
    assert link.read_messages(0.1) == []  # no reply to frames that cannot be trusted
    after = link.state()
    assert after.bad_crc == before.bad_crc + 1
    assert after.bad_frame == before.bad_frame + 1
    assert after.rx_ok == before.rx_ok + 1
    assert after.targets_100urad == before.targets_100urad  # never acted on
    # garbage glued directly in front of a good frame costs that frame only
    link.send_raw(b"\x01\x02\x03")
    link.seq += 1
    link.send_raw(b"\x00" + p.encode_frame(p.Ping(seq=link.seq)))
    assert isinstance(link.read_messages(0.1)[0], p.State)
    # a good CRC with an unknown type or a bad length gets an ERROR and counts as bad_msg
    err = link.request(p.Targets(targets_100urad=(1, 2, 3)))
    assert isinstance(err, p.Error) and err.name == "BAD_LENGTH"
    assert link.state().bad_msg == before.bad_msg + 1


def configure(link: Link, timeout_ms: int, action: int, joints=JOINTS) -> p.Info:
    info = link.request(p.Config(watchdog_timeout_ms=timeout_ms, watchdog_action=action, joints=joints))
    assert isinstance(info, p.Info), info
    return info


def test_watchdog_hold_keeps_pulsing_until_clear(emu, link):
    link.hello()
    assert configure(link, 200, p.WATCHDOG_HOLD).watchdog_timeout_ms == 200
    link.state(p.Enable(pose_100urad=HOME))
    link.state(p.Targets(targets_100urad=(15000,) + HOME[1:]))
    time.sleep(0.45)  # silence: trips after 200 ms, mid-move
    st = link.state()
    assert st.watchdog_tripped and st.enabled
    held = st.setpoints_100urad
    assert 0 < held[0] < 15000
    time.sleep(0.1)
    st2 = link.state()
    assert st2.setpoints_100urad == held and st2.targets_100urad == held
    assert_pulses_match(emu, st2.frame - 1, held)  # HOLD keeps pulsing the frozen setpoints
    assert link.state(p.Targets(targets_100urad=HOME)).rejected
    cleared = link.state(p.Clear())
    assert not cleared.watchdog_tripped and cleared.enabled
    moved = link.state(p.Targets(targets_100urad=HOME))
    assert not moved.rejected and moved.targets_100urad == HOME


def test_watchdog_release_stops_pulses_and_estop_latches(emu, link):
    link.hello()
    configure(link, 100, p.WATCHDOG_RELEASE)
    link.state(p.Enable(pose_100urad=HOME))
    time.sleep(0.3)
    st = link.state()
    assert st.watchdog_tripped and not st.enabled
    assert emu.pulses.wait_for(st.frame - 1).widths_us == (0.0,) * 6
    refused = link.request(p.Enable(pose_100urad=HOME))
    assert isinstance(refused, p.Error) and refused.name == "WATCHDOG_TRIPPED"
    assert not link.state(p.Clear()).watchdog_tripped
    assert link.state(p.Enable(pose_100urad=HOME)).enabled
    # ESTOP: pulses stop at once and stay off until CLEAR, whatever the host sends
    st = link.state(p.Estop())
    assert st.estop_latched and not st.enabled
    assert link.state(p.Targets(targets_100urad=HOME)).rejected
    refused = link.request(p.Enable(pose_100urad=HOME))
    assert isinstance(refused, p.Error) and refused.name == "ESTOP_LATCHED"
    time.sleep(0.1)
    st = link.state()
    assert st.estop_latched and emu.pulses.wait_for(st.frame - 1).widths_us == (0.0,) * 6
    st = link.state(p.Clear())
    assert not st.estop_latched and not st.enabled  # CLEAR does not re-enable by itself
    assert link.state(p.Enable(pose_100urad=HOME)).enabled


def test_config_refused_while_enabled_and_eeprom_survives_restart(emulator_build, tmp_path):
    image = tmp_path / "eeprom.bin"
    custom = tuple(
        p.JointConfig(
            j.lower_100urad, j.upper_100urad, j.home_100urad, 300, 3100, -j.gain_q16 if i == 0 else j.gain_q16
        )
        for i, j in enumerate(JOINTS)
    )
    with Emulator(eeprom=image) as emu:
        link = Link(emu.port)
        assert link.hello().flags == 0  # blank EEPROM: compiled-in defaults
        link.state(p.Enable(pose_100urad=HOME))
        err = link.request(p.Config(watchdog_timeout_ms=300, watchdog_action=1, joints=custom))
        assert isinstance(err, p.Error) and err.name == "NOT_RELEASED"
        link.state(p.Release())
        info = configure(link, 300, p.WATCHDOG_RELEASE, custom)
        assert info.joints == custom and info.flags == 1
        link.close()
    assert image.stat().st_size == 1024
    with Emulator(eeprom=image) as emu:
        link = Link(emu.port)
        info = link.hello()
        assert info.flags == 1 and info.joints == custom
        assert (info.watchdog_timeout_ms, info.watchdog_action) == (300, p.WATCHDOG_RELEASE)
        pose = (5000,) + HOME[1:]
        st = link.state(p.Enable(pose_100urad=pose))
        assert st.setpoints_100urad == HOME  # from where the servos are (home after boot) ...
        st = keep_alive(link, 0.5)  # ... slewing at the new max_step, 300 per frame
        assert st.setpoints_100urad == pose
        assert_pulses_match(emu, st.frame - 1, pose, custom)  # negative gain: 5000 -> 1550 - 318 us
        link.close()


def test_two_emulators_side_by_side(emulator_build):
    with Emulator() as a, Emulator() as b:
        assert a.port != b.port
        la, lb = Link(a.port), Link(b.port)
        la.hello()
        lb.hello()
        la.state(p.Enable(pose_100urad=(1000,) + HOME[1:]))
        lb.state(p.Enable(pose_100urad=(-1000,) + HOME[1:]))
        time.sleep(0.1)  # 2 frames of slewing from home
        for _ in range(5):
            sa, sb = la.state(), lb.state()
            assert sa.setpoints_100urad[0] == 1000 and sb.setpoints_100urad[0] == -1000
            time.sleep(0.02)
        assert_pulses_match(a, sa.frame - 1, (1000,) + HOME[1:])
        assert_pulses_match(b, sb.frame - 1, (-1000,) + HOME[1:])
        la.close()
        lb.close()
        a.stop()
        b.stop()
        for emu in (a, b):  # each paced to the wall clock, side by side
            t = emu.pulses.timing
            assert t["sim_s"] + t["dropped_ms"] / 1e3 == pytest.approx(t["wall_s"], abs=0.1)
            assert emu.pulses.timing["max_lag_ms"] < 100


def test_builds_go_to_the_cache_and_fit_the_atmega328p(emulator_build):
    assert emulator_build.dir.is_relative_to(cache_dir())
    assert not list(FIRMWARE_SRC.glob("*.elf")) and not list(FIRMWARE_SRC.glob("*.hex"))
    size = avr_size(emulator_build.firmware_elf)
    assert size["flash_bytes"] < 32 * 1024 and size["ram_bytes"] < 1536  # leave 512 B of stack


def test_an_emulator_starved_of_cpu_does_not_trip_the_watchdog_of_a_host_that_kept_talking(emu, link):
    """The emulator paused for 1 s (SIGSTOP: a loaded machine) while the host pings every 40 ms. On
    resuming it must not race through the missed second with the host's bytes all consumed at its
    start (the firmware's 500 ms watchdog would trip, which a real MCU, never paused, would not do),
    and the 25 PINGs queued in the pty arrive as one burst: the firmware answers the newest request
    behind them at once (issue 9, item 6: such a burst used to leave the link deaf for 2 s)."""
    link.hello()
    link.state(p.Enable(pose_100urad=HOME))
    assert emu.pid is not None
    os.kill(emu.pid, signal.SIGSTOP)
    try:
        end = time.monotonic() + 1.0
        while time.monotonic() < end:  # the host goes on talking; its PINGs queue in the pty
            link.send_raw(p.encode_frame(p.Ping(seq=0)))
            time.sleep(0.04)
    finally:
        os.kill(emu.pid, signal.SIGCONT)
    first = link.request(p.Ping(), timeout_s=0.5)  # queued behind the burst
    assert isinstance(first, p.State) and first.enabled and not first.watchdog_tripped
    for _ in range(25):  # and for another second after the emulator runs again
        s = link.state()
        assert s.enabled and not s.watchdog_tripped
        time.sleep(0.04)
    emu.stop()
    assert emu.pulses.timing["dropped_ms"] > 500  # the paused second was dropped, not raced through
