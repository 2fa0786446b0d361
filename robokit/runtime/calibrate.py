"""Calibrate an arm running the robokit firmware (``robokit arm calibrate``): write per-servo pulse
calibration and watchdog settings (CONFIG, kept in the firmware's EEPROM) and the calibration JSON file,
from given values or by eye (``interactive``). A runtime workflow over that driver: it brings the arm up
with ``bring_up``, so it sits in the runtime layer, above the drivers.

``robokit arm`` checks its arguments before the port is opened; here the settings a CalibrationRequest
gives, merged with what the firmware holds, are checked again as a whole before CONFIG is sent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robokit.core.arm import ArmError
from robokit.firmware_bridge import protocol as pr
from robokit.firmware_bridge.calibration import (
    PULSE_MAX_US,
    PULSE_MIN_US,
    calibration_dict,
    check_config,
    gain_to_us_per_rad,
    pulse_range_warning,
    write_json_atomic,
)
from robokit.firmware_bridge.fixedpoint import ANGLE_UNIT_RAD, TICK_US, gain_q16
from robokit.firmware_bridge.hardware_arm import ArmMismatch, ArmRefused, HardwareArm
from robokit.runtime.bringup import bring_up

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
Settings = tuple[tuple[pr.JointConfig, ...], int, int]  # (joints, watchdog_timeout_ms, watchdog_action)


@dataclass
class CalibrationRequest:
    """What to change; None (or empty, False) leaves the firmware's value. ``joints``: the joints
    ``zero_us``/``us_per_rad``/``interactive`` change (empty: every joint); ``zero_us``: pulse width at
    0 rad (us); ``us_per_rad``: pulse change per rad (sign gives direction); ``watchdog_ms``: watchdog
    timeout (ms); ``watchdog_action``: "hold" or "release"; ``out``: the calibration JSON to write."""

    joints: list[str] = field(default_factory=list)
    zero_us: float | None = None
    us_per_rad: float | None = None
    watchdog_ms: int | None = None
    watchdog_action: str | None = None
    interactive: bool = False
    out: Path = Path("calibration.json")


def requested_settings(arm: HardwareArm, request: CalibrationRequest) -> Settings:
    """The firmware's current joints and watchdog settings with the request's changes applied."""
    joints = list(arm.info.joints)
    names = list(arm.spec.joint_names)
    chosen = request.joints or (
        names if (request.zero_us is not None or request.us_per_rad is not None) else []
    )
    for name in chosen:
        i = names.index(name)
        if request.zero_us is not None:
            joints[i] = dataclasses.replace(joints[i], pulse_zero_ticks=int(round(request.zero_us / TICK_US)))
        if request.us_per_rad is not None:
            joints[i] = dataclasses.replace(joints[i], gain_q16=gain_q16(request.us_per_rad))
    timeout = request.watchdog_ms if request.watchdog_ms is not None else arm.info.watchdog_timeout_ms
    action = {"hold": pr.WATCHDOG_HOLD, "release": pr.WATCHDOG_RELEASE}.get(
        request.watchdog_action, arm.info.watchdog_action
    )
    return tuple(joints), timeout, action


def _settings(info: pr.Info) -> Settings:
    """What CONFIG writes, from an INFO: (joints, watchdog_timeout_ms, watchdog_action)."""
    return info.joints, info.watchdog_timeout_ms, info.watchdog_action


def _write_config(arm: HardwareArm, settings: Settings, check: bool = True) -> None:
    """CONFIG (the arm must be released), then check that the firmware now holds exactly that."""
    info = arm.configure(*settings, check=check)
    if _settings(info) != settings:
        raise ArmMismatch("the firmware acknowledged CONFIG but reports a different configuration")


def _pulse_warnings(arm: HardwareArm, joints: tuple[pr.JointConfig, ...]) -> list[str]:
    """Joints whose limits map outside the pulse range with this calibration."""
    out = []
    for name, j in zip(arm.spec.joint_names, joints):
        lo, hi = j.lower_100urad * ANGLE_UNIT_RAD, j.upper_100urad * ANGLE_UNIT_RAD
        w = pulse_range_warning(name, lo, hi, j.pulse_zero_ticks * TICK_US, gain_to_us_per_rad(j.gain_q16))
        if w:
            out.append(w)
    return out


@contextlib.contextmanager
def _keep_alive(arm: HardwareArm, timeout_ms: int) -> Iterator[None]:
    """While the block runs (the user is typing), PING from a background thread once per control period
    (at most a quarter of the watchdog timeout) so the firmware's communication watchdog does not trip
    and one lost reply stays within HardwareArm's three-period staleness limit. The block must not talk
    to the arm itself. A lost link is reported at once and raised when the block ends."""
    period_s = min(arm.control_period_s, timeout_ms / 4000) if timeout_ms else arm.control_period_s
    stop = threading.Event()
    failures: list[ArmError] = []

    def ping() -> None:
        while not stop.wait(period_s):
            try:
                arm.read()
            except ArmError as exc:
                failures.append(exc)
                print(f"\nrobokit arm: lost the arm while waiting for input: {exc}", file=sys.stderr)
                return

    thread = threading.Thread(target=ping, name="calibrate-keep-alive", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        while thread.is_alive():  # a second Ctrl-C must not let the caller talk to the port meanwhile
            with contextlib.suppress(KeyboardInterrupt):
                thread.join()
    if failures:
        raise failures[0]


def ask_zero_us(input_fn: Callable[[str], str], prompt: str) -> float | None:
    """A zero pulse width in us typed by the user, or None (empty line: keep the current one). Asks
    again after anything that is not a number in the firmware's range; EOFError and KeyboardInterrupt
    (Ctrl-D, Ctrl-C) pass through."""
    while True:
        line = input_fn(prompt).strip()
        if not line:
            return None
        try:
            us = float(line)
        except ValueError:
            us = math.nan
        if PULSE_MIN_US <= us <= PULSE_MAX_US:  # False for nan
            return us
        print(
            f"  {line!r} is not a pulse width: type a number of us from {PULSE_MIN_US:.0f} to "
            f"{PULSE_MAX_US:.0f}, Enter alone to keep the current value, Ctrl-C to abort"
        )


def _interactive(arm: HardwareArm, settings: Settings, names: list[str], input_fn) -> None:
    """Hold each joint of ``names`` at 0 rad (the others at home) and let the user adjust its zero
    pulse by eye. Every change is tried live: release, CONFIG, check, enable again where the servos
    are (a servo without feedback jumps to its first pulse), then hold the joint at 0 rad again."""
    joints, timeout_ms, action = list(settings[0]), settings[1], settings[2]

    home = np.asarray(arm.spec.home_q, dtype=np.float64)
    bring_up(arm, pose=home)  # clears a tripped watchdog (the arm is released), then ENABLE at home
    for name in names:
        i = arm.spec.joint_names.index(name)
        pose = home.copy()
        pose[i] = 0.0
        arm.command(pose)
        while True:
            prompt = (
                f"{name}: zero pulse {joints[i].pulse_zero_ticks * TICK_US:.1f} us, new value or Enter > "
            )
            with _keep_alive(arm, timeout_ms):
                us = ask_zero_us(input_fn, prompt)
            if us is None:
                break
            joints[i] = dataclasses.replace(joints[i], pulse_zero_ticks=int(round(us / TICK_US)))
            here = arm.read().q
            arm.release()
            _write_config(arm, (tuple(joints), timeout_ms, action))
            arm.enable(here)
            arm.command(pose)


def _abort(arm: HardwareArm, original: Settings, exc: BaseException, out: object) -> int:
    """After Ctrl-C, Ctrl-D or a lost arm during --interactive: release, write back the calibration
    the firmware had, say so; returns exit code 1."""
    why = "" if isinstance(exc, (KeyboardInterrupt, EOFError)) else f": {exc}"
    print(f"\ncalibration aborted{why}", file=sys.stderr)
    try:
        arm.release()
        if _settings(arm.connect()) != original:  # HELLO: what the firmware holds now
            _write_config(arm, original, check=False)  # exactly what it held before, valid or not
            print("restored the previous calibration", file=sys.stderr)
        print("the arm is released (no pulses)", file=sys.stderr)
    except ArmError as again:
        print(f"could not restore the previous state ({again}); check `robokit arm status`", file=sys.stderr)
    print(f"nothing written to {out}", file=sys.stderr)
    return EXIT_FAILED


def _refuse_unless_released(state, interactive: bool) -> None:
    if interactive and state.estop_latched:
        raise ArmRefused("e-stop latched: run `robokit arm clear` first")
    if not state.released:
        raise ArmRefused(
            "the arm is enabled, and the firmware accepts CONFIG only while released: "
            "run `robokit arm release` first (with a hand on the arm)"
        )


def calibrate(arm: HardwareArm, request: CalibrationRequest, input_fn: Callable[[str], str]) -> int:
    """Write the calibration (CONFIG, kept in EEPROM, only if something changes) and the JSON file
    ``request.out``, saying what it does on stdout/stderr; ``input_fn`` reads the interactive answers.
    Returns an exit code: 0 done, 1 failed or aborted, 2 refused. Raises ArmError for the caller to
    report."""
    from robokit.firmware_bridge.describe import describe_state

    state = arm.read()
    _refuse_unless_released(state, request.interactive)
    original = _settings(arm.info)
    wanted = requested_settings(arm, request)
    try:  # the merged settings as a whole: the firmware's own values may be ones that cannot work
        check_config(*wanted, arm.spec, arm.control_period_s)
    except ValueError as exc:
        print(f"robokit arm: {exc} (give the setting on the command line)", file=sys.stderr)
        return EXIT_REFUSED
    for w in _pulse_warnings(arm, wanted[0]):
        print(f"robokit arm: warning: {w}", file=sys.stderr)
    if not request.interactive:
        if wanted != original:
            _write_config(arm, wanted)
    else:
        print(
            "Interactive calibration: the servos start at the home pose, then each joint in turn is held "
            "at 0 rad. Type a zero pulse width in us and press Enter to try it, Enter alone to keep it "
            "and go on, Ctrl-C to abort without changing anything."
        )
        try:
            if wanted != original:
                _write_config(arm, wanted)
            _interactive(arm, wanted, request.joints or list(arm.spec.joint_names), input_fn)
        except (KeyboardInterrupt, EOFError, ArmError) as exc:
            return _abort(arm, original, exc, request.out)
        arm.connect()  # HELLO again: the firmware's configuration as it now stands, checked against the spec
        print(f"state: {describe_state(arm.read(), arm.info)} (`robokit arm release` stops the pulses now)")
    changed = _settings(arm.info) != original
    try:
        write_json_atomic(request.out, calibration_dict(arm.spec, arm.info))
    except OSError as exc:
        what = "the firmware's EEPROM holds the new calibration, but " if changed else ""
        print(
            f"robokit arm: {what}writing {request.out} failed ({exc.strerror or exc}); "
            f"`robokit arm --port {arm.url} calibrate --out FILE` saves the firmware's calibration",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if changed:
        print(f"calibration written to the firmware's EEPROM and to {request.out}")
    else:
        print(f"firmware calibration unchanged; written to {request.out}")
    return EXIT_OK
