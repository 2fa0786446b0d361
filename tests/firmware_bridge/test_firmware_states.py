"""Every state change of the real firmware (in simavr) respects the motion model, the watchdog's
timeout range, and CONFIG refuses calibrations no servo has (issue 9, items 3, 4 and 11). Pulse widths
are measured on the simulated pins."""

from __future__ import annotations

import dataclasses
import struct
import time

import pytest

from robokit.firmware_bridge import fixedpoint as fx
from robokit.firmware_bridge import protocol as p
from robokit.firmware_bridge.emulator import Emulator, PulseFrame
from robokit.firmware_bridge.framing import crc16_ccitt_false
from robokit.robots import get_robot

from .conftest import Link

JOINTS = fx.default_joint_configs(get_robot("servo_arm"))
HOME = tuple(j.home_100urad for j in JOINTS)
A = (12000, -9000, 3000, 12000, -12000, 8000)
B = (-12000, 9000, -3000, -12000, 12000, 1000)
# the most a pulse may change from one frame to the next: max_step through the calibration, plus
# 0.5 us for the rounding to ticks and 0.5 us of measurement
STEP_US = [
    j.max_step_100urad * abs(fx.gain_to_us_per_rad(j.gain_q16)) * fx.ANGLE_UNIT_RAD + 1.0 for j in JOINTS
]

pytestmark = pytest.mark.usefixtures("emulator_build")


def keep_alive(link: Link, duration_s: float) -> p.State:
    """PING every 40 ms for ``duration_s`` (feeds the watchdog); the last STATE."""
    end = time.monotonic() + duration_s
    st = link.state()
    while time.monotonic() < end:
        time.sleep(0.04)
        st = link.state()
    return st


def keep_alive_until(link: Link, setpoints: tuple[int, ...], timeout_s: float = 5.0) -> p.State:
    """PING every 40 ms until the setpoints are ``setpoints`` (the emulator may lag the wall clock
    on a busy machine); the STATE that shows them."""
    end = time.monotonic() + timeout_s
    st = link.state()
    while st.setpoints_100urad != setpoints and time.monotonic() < end:
        time.sleep(0.04)
        st = link.state()
    assert st.setpoints_100urad == setpoints, st
    return st


def configure(link: Link, timeout_ms: int, action: int) -> p.Message:
    return link.request(p.Config(watchdog_timeout_ms=timeout_ms, watchdog_action=action, joints=JOINTS))


def pulse_jumps(frames: list[PulseFrame]) -> list[str]:
    """Every change of a joint's pulse width between two pulsed frames (frames without pulses in
    between are skipped: a released servo keeps its last position) larger than STEP_US."""
    last: list[float | None] = [None] * len(JOINTS)
    jumps = []
    for pf in frames:
        for i, w in enumerate(pf.widths_us):
            if w == 0.0:
                continue
            if last[i] is not None and abs(w - last[i]) > STEP_US[i]:
                jumps.append(f"frame {pf.frame} joint {i}: {last[i]:.1f} -> {w:.1f} us")
            last[i] = w
    return jumps


def test_enable_while_enabled_slews_to_the_new_pose(emu, link):
    """The issue's case: a joint held at +1.5 rad, then ENABLE with it at -1.5 rad. It used to jump
    -3.0 rad within 4 frames; now the pose is a target, reached at max speed."""
    link.hello()
    link.state(p.Enable(pose_100urad=HOME))
    link.state(p.Targets(targets_100urad=(15000,) + HOME[1:]))
    held = keep_alive_until(link, (15000,) + HOME[1:])
    st = link.state(p.Enable(pose_100urad=(-15000,) + HOME[1:]))
    assert st.enabled and not st.rejected
    assert st.setpoints_100urad[0] == 15000 and st.targets_100urad[0] == -15000
    time.sleep(0.1)
    later = link.state()
    frames = later.frame - st.frame
    assert 15000 - later.setpoints_100urad[0] <= 600 * frames  # at most max_step per frame
    done = keep_alive_until(link, (-15000,) + HOME[1:])  # 30000 / 600 = 50 frames
    pulses = [emu.pulses.wait_for(f) for f in range(held.frame, done.frame)]
    assert pulse_jumps(pulses) == []


def test_pulses_never_jump_across_any_state_change(emu, link):
    """ENABLE while moving, RELEASE -> ENABLE, ESTOP -> CLEAR -> ENABLE, a watchdog HOLD trip -> CLEAR
    -> TARGETS, CONFIG while released -> ENABLE, a watchdog RELEASE trip -> CLEAR -> ENABLE, all
    while the joints are moving: no pulse width changes by more than one frame's max step."""
    link.hello()
    assert isinstance(configure(link, 200, p.WATCHDOG_HOLD), p.Info)
    first = link.state(p.Enable(pose_100urad=HOME))
    link.state(p.Targets(targets_100urad=A))
    keep_alive(link, 0.2)
    st = link.state(p.Enable(pose_100urad=B))  # enabled, mid-move
    assert st.setpoints_100urad != B
    keep_alive(link, 0.2)
    released = link.state(p.Release())
    time.sleep(0.1)
    st = link.state(p.Enable(pose_100urad=HOME))
    assert st.setpoints_100urad == released.setpoints_100urad  # from where the servos were left
    keep_alive(link, 0.2)
    link.state(p.Targets(targets_100urad=A))
    keep_alive(link, 0.1)
    assert link.state(p.Estop()).estop_latched
    time.sleep(0.1)
    link.state(p.Clear())
    link.state(p.Enable(pose_100urad=B))
    keep_alive(link, 0.2)
    link.state(p.Targets(targets_100urad=A))
    time.sleep(0.35)  # silence: the watchdog trips (HOLD) mid-move
    tripped = link.state()
    assert tripped.watchdog_tripped and tripped.enabled
    cleared = link.state(p.Clear())
    assert cleared.setpoints_100urad == cleared.targets_100urad == tripped.setpoints_100urad  # keeps still
    link.state(p.Targets(targets_100urad=B))
    keep_alive(link, 0.2)
    link.state(p.Release())
    assert isinstance(configure(link, 100, p.WATCHDOG_RELEASE), p.Info)
    link.state(p.Enable(pose_100urad=A))
    keep_alive(link, 0.15)
    time.sleep(0.3)  # silence: the watchdog trips (RELEASE) mid-move
    tripped = link.state()
    assert tripped.watchdog_tripped and not tripped.enabled
    link.state(p.Clear())
    link.state(p.Enable(pose_100urad=HOME))
    last = keep_alive(link, 0.3)
    pulses = [emu.pulses.wait_for(f, timeout_s=3.0) for f in range(first.frame + 1, last.frame)]
    assert pulse_jumps(pulses) == []
    off = sum(1 for a, b in zip(pulses, pulses[1:]) if any(a.widths_us) and not any(b.widths_us))
    assert off >= 3  # RELEASE, ESTOP and the watchdog's RELEASE really stopped the pulses
    assert (
        max(pf.widths_us[0] for pf in pulses) - min(pf.widths_us[0] for pf in pulses if pf.widths_us[0]) > 500
    )


def test_release_and_estop_mid_move_leave_no_setpoint_without_its_pulse(emu, link):
    """RELEASE or ESTOP arriving while a frame's pulse train is under way: the train completes, so
    every servo got the setpoint the frame stepped to, and the next ENABLE continues from there
    (cutting the train used to leave later joints a step behind: a 2-step jump on ENABLE)."""
    link.hello()
    first = link.state(p.Enable(pose_100urad=HOME))
    for i in range(8):
        goal = A if i % 2 == 0 else B
        link.state(p.Targets(targets_100urad=goal))
        keep_alive(link, 0.08)
        time.sleep(0.003 * i)  # land at different points of the 20 ms frame
        link.state(p.Estop() if i % 3 == 0 else p.Release())
        time.sleep(0.05)
        link.state(p.Clear())
        link.state(p.Enable(pose_100urad=goal))
    last = keep_alive(link, 0.1)
    pulses = [emu.pulses.wait_for(f, timeout_s=3.0) for f in range(first.frame + 1, last.frame)]
    assert pulse_jumps(pulses) == []


def test_a_reset_keeps_the_setpoints_and_enable_starts_from_them(emu, link):
    """A reset that keeps RAM (the reset pin: DTR on a real Uno, or the AVR watchdog) reboots the
    firmware released; the next ENABLE starts from the setpoints it had, not from home."""
    link.hello()
    link.state(p.Enable(pose_100urad=HOME))
    link.state(p.Targets(targets_100urad=A))
    before = keep_alive_until(link, A)
    last_pulse = emu.pulses.wait_for(before.frame)
    emu.reset_mcu()
    time.sleep(0.2)
    st = link.state()
    assert not st.enabled and st.frame < before.frame  # rebooted: released, frame counter from 0
    assert st.setpoints_100urad == A
    st = link.state(p.Enable(pose_100urad=HOME))
    assert st.setpoints_100urad == A and st.targets_100urad == HOME
    after = keep_alive(link, 0.3)
    pulses = [last_pulse] + [emu.pulses.wait_for(f) for f in range(st.frame + 1, after.frame)]
    assert pulse_jumps(pulses) == []


def test_watchdog_timeouts_outside_100_to_60000_ms_are_refused(link):
    """0 used to switch the watchdog off, and 65001..65535 never tripped (the silence counter
    saturated at 65000 ms): now CONFIG refuses them, and the firmware keeps its settings."""
    link.hello()
    for ms in (0, 10, p.WATCHDOG_MIN_MS - 1, p.WATCHDOG_MAX_MS + 1, 65001, 65535):
        reply = configure(link, ms, p.WATCHDOG_HOLD)
        assert isinstance(reply, p.Error) and reply.name == "BAD_CONFIG", ms
    info = link.hello()
    assert info.watchdog_timeout_ms == fx.DEFAULT_WATCHDOG_TIMEOUT_MS and not info.flags & 1
    for ms in (p.WATCHDOG_MIN_MS, p.WATCHDOG_MAX_MS):
        reply = configure(link, ms, p.WATCHDOG_HOLD)
        assert isinstance(reply, p.Info) and reply.watchdog_timeout_ms == ms


@pytest.mark.parametrize("timeout_ms, frames", [(p.WATCHDOG_MIN_MS, 5), (p.WATCHDOG_MAX_MS, 3000)])
def test_watchdog_trips_after_its_timeout_in_whole_frames(emulator_build, timeout_ms, frames):
    """With action RELEASE, the pulses stop in the frame the watchdog trips: ENABLE acknowledged at
    frame E, silence after it, so pulses in frames E+1 .. E+frames-1 and none from E+frames on.
    (Not paced to the clock, so a minute of firmware time takes a few seconds.)"""
    with Emulator(realtime=False) as emu:
        link = Link(emu.port)
        link.hello()
        assert isinstance(configure(link, timeout_ms, p.WATCHDOG_RELEASE), p.Info)
        st = link.state(p.Enable(pose_100urad=HOME))
        timeout_s = 60.0
        assert all(emu.pulses.wait_for(st.frame + k, timeout_s).widths_us[0] > 0 for k in (1, frames - 1))
        assert emu.pulses.wait_for(st.frame + frames, timeout_s).widths_us == (0.0,) * len(JOINTS)
        st = link.state()
        assert st.watchdog_tripped and not st.enabled
        link.close()


def eeprom_image(timeout_ms: int, joints: tuple[p.JointConfig, ...] = JOINTS) -> bytes:
    """A 1 KiB EEPROM image as the firmware writes it: magic | arm_config_t | crc16 (avr-gcc layout,
    8 joint slots), 0xFF after it."""
    slots = list(joints) + [p.JointConfig(0, 0, 0, 0, 0, 0)] * (p.MAX_JOINTS - len(joints))
    cfg = struct.pack("<HBB", timeout_ms, p.WATCHDOG_HOLD, len(JOINTS)) + b"".join(j.pack() for j in slots)
    body = struct.pack("<H", 0x4B52) + cfg + struct.pack("<H", crc16_ccitt_false(cfg))
    return body + b"\xff" * (1024 - len(body))


def test_an_eeprom_image_with_the_watchdog_off_is_ignored(emulator_build, tmp_path):
    """An image written by an older firmware with watchdog 0 ("off") fails CONFIG's checks at boot:
    the firmware runs on its compiled-in defaults (watchdog on) instead."""
    good, off = tmp_path / "good.bin", tmp_path / "off.bin"
    good.write_bytes(eeprom_image(300))
    off.write_bytes(eeprom_image(0))
    for image, flags, timeout_ms in ((good, 1, 300), (off, 0, fx.DEFAULT_WATCHDOG_TIMEOUT_MS)):
        with Emulator(eeprom=image) as emu:
            link = Link(emu.port)
            info = link.hello()
            assert (info.flags & 1, info.watchdog_timeout_ms) == (flags, timeout_ms), image.name
            link.close()


def with_joint(index: int, **change: int) -> tuple[p.JointConfig, ...]:
    """JOINTS with joint ``index`` changed."""
    return JOINTS[:index] + (dataclasses.replace(JOINTS[index], **change),) + JOINTS[index + 1 :]


def test_a_config_with_a_gain_no_servo_has_is_refused_and_the_calibration_kept(link):
    """Issue 9, item 11: a raw CONFIG (no host checks) with gain 0 (the servo would never move while
    STATE reports motion), or a gain, zero pulse or max step past its bound, gets ERROR BAD_CONFIG, and
    INFO still shows the calibration stored before. A negative gain (a direction) is accepted."""
    link.hello()
    calibrated = with_joint(0, gain_q16=-fx.gain_q16(500.0), pulse_zero_ticks=3100)
    reply = link.request(p.Config(watchdog_timeout_ms=300, joints=calibrated))
    assert isinstance(reply, p.Info) and reply.joints == calibrated and reply.flags & 1
    bad = [
        with_joint(2, gain_q16=0),
        with_joint(5, gain_q16=0),
        with_joint(1, gain_q16=-(p.GAIN_Q16_MIN - 1)),
        with_joint(1, gain_q16=p.GAIN_Q16_MAX + 1),
        with_joint(3, pulse_zero_ticks=p.PULSE_ZERO_MAX_TICKS + 1),
        with_joint(4, max_step_100urad=p.MAX_STEP_MAX + 1),
    ]
    for joints in bad:
        reply = link.request(p.Config(watchdog_timeout_ms=500, joints=joints))
        assert isinstance(reply, p.Error) and (reply.name, reply.request_type) == (
            "BAD_CONFIG",
            p.Config.TYPE,
        )
    info = link.hello()
    assert (info.joints, info.watchdog_timeout_ms, info.flags & 1) == (calibrated, 300, 1)


def test_an_eeprom_image_with_a_gain_of_0_is_ignored(emulator_build, tmp_path):
    """The same check at boot: an EEPROM image (intact magic and CRC) holding gain 0 for one joint is
    not used; the firmware runs on its compiled-in defaults."""
    image = tmp_path / "gain0.bin"
    image.write_bytes(eeprom_image(300, with_joint(2, gain_q16=0)))
    with Emulator(eeprom=image) as emu:
        link = Link(emu.port)
        info = link.hello()
        link.close()
    assert (info.flags & 1, info.watchdog_timeout_ms, info.joints) == (
        0,
        fx.DEFAULT_WATCHDOG_TIMEOUT_MS,
        JOINTS,
    )
