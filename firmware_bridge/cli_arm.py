"""``robokit arm``: manual control and calibration of an arm running the robokit firmware."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

ACTIONS = ("status", "enable", "home", "release", "estop", "clear", "calibrate")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="robokit arm",
        description=(
            "Talk to an arm running the robokit firmware: status (versions, calibration, state, "
            "counters), enable (start pulses from the home pose), home (enable, then move home at "
            "the servo speed), release (stop pulses), estop (latch an emergency stop), clear (clear "
            "e-stop / watchdog), calibrate (write per-servo pulse calibration to EEPROM and a JSON file)."
        ),
        epilog="Example: robokit arm --port /dev/ttyUSB0 calibrate --joint elbow --zero-us 1520 --out cal.json",
    )
    p.add_argument("action", choices=ACTIONS)
    p.add_argument(
        "--port", required=True, help="serial port or pyserial URL (/dev/ttyUSB0, /dev/pts/N, socket://...)"
    )
    p.add_argument("--baud", type=int, default=1_000_000, help="baud rate (default 1000000)")
    p.add_argument(
        "--robot", default="servo_arm", help="RobotSpec the firmware must match (default servo_arm)"
    )
    c = p.add_argument_group("calibrate")
    c.add_argument(
        "--joint",
        action="append",
        default=[],
        help="joint to change (repeat); default: every joint (for --zero-us/--us-per-rad and --interactive)",
    )
    c.add_argument("--zero-us", type=float, help="pulse width at 0 rad, us")
    c.add_argument("--us-per-rad", type=float, help="pulse width change per rad, us (sign gives direction)")
    c.add_argument("--watchdog-ms", type=int, help="communication watchdog timeout, ms")
    c.add_argument(
        "--watchdog-action", choices=("hold", "release"), help="what the watchdog does when it trips"
    )
    c.add_argument(
        "--interactive", action="store_true", help="adjust each joint's zero pulse by eye, joint by joint"
    )
    c.add_argument(
        "--out",
        type=Path,
        default=Path("calibration.json"),
        help="calibration JSON (default calibration.json)",
    )
    return p


def _print_status(arm) -> None:
    from robokit.firmware_bridge.fixedpoint import ANGLE_UNIT_RAD, TICK_US

    info = arm.info
    s = arm.read()
    print(
        f"firmware {'.'.join(map(str, info.firmware_version))}, protocol {info.protocol_version}, "
        f"{info.n_joints} joints, frame {info.frame_period_us} us, watchdog {info.watchdog_timeout_ms} ms "
        f"-> {'release' if info.watchdog_action else 'hold'}"
    )
    print(f"{'joint':12s} {'lower':>8s} {'upper':>8s} {'speed':>7s} {'zero_us':>8s} {'us/rad':>8s} {'q':>8s}")
    for name, j, q in zip(arm.spec.joint_names, info.joints, s.q):
        us_per_rad = j.gain_q16 / 65536 * TICK_US / ANGLE_UNIT_RAD
        print(
            f"{name:12s} {j.lower_100urad * 1e-4:8.4f} {j.upper_100urad * 1e-4:8.4f} "
            f"{j.max_step_100urad * 1e-4 / 0.02:7.2f} {j.pulse_zero_ticks * TICK_US:8.1f} {us_per_rad:8.1f} {q:8.4f}"
        )
    flags = [
        n
        for n, v in (
            ("released", s.released),
            ("watchdog-tripped", s.watchdog_tripped),
            ("estop-latched", s.estop_latched),
        )
        if v
    ]
    print(
        f"frame {s.frame}, flags: {', '.join(flags) or 'enabled'}; counters: "
        + ", ".join(f"{k}={s.extra[k]}" for k in ("rx_ok", "bad_crc", "bad_frame", "bad_msg"))
    )


def calibration_dict(arm) -> dict:
    """The firmware's current calibration as the JSON structure HardwareArm(calibration=...) checks."""
    info = arm.info
    return {
        "robot": arm.spec.name,
        "watchdog_timeout_ms": info.watchdog_timeout_ms,
        "watchdog_action": "release" if info.watchdog_action else "hold",
        "joints": {
            name: {
                "pulse_zero_ticks": j.pulse_zero_ticks,
                "gain_q16": j.gain_q16,
                "pulse_zero_us": j.pulse_zero_ticks * 0.5,
                "us_per_rad": j.gain_q16 / 65536 * 0.5 / 1e-4,
            }
            for name, j in zip(arm.spec.joint_names, info.joints)
        },
    }


def _requested_config(arm, args) -> tuple[list, int, int]:
    """The firmware's current joints and watchdog settings with the command line's changes applied."""
    from robokit.firmware_bridge import protocol as pr
    from robokit.firmware_bridge.fixedpoint import TICK_US, gain_q16

    joints = list(arm.info.joints)
    names = list(arm.spec.joint_names)
    chosen = args.joint or (names if (args.zero_us is not None or args.us_per_rad is not None) else [])
    for name in chosen:
        i = names.index(name)
        if args.zero_us is not None:
            joints[i] = dataclasses.replace(joints[i], pulse_zero_ticks=int(round(args.zero_us / TICK_US)))
        if args.us_per_rad is not None:
            joints[i] = dataclasses.replace(joints[i], gain_q16=gain_q16(args.us_per_rad))
    timeout = args.watchdog_ms if args.watchdog_ms is not None else arm.info.watchdog_timeout_ms
    action = {"hold": pr.WATCHDOG_HOLD, "release": pr.WATCHDOG_RELEASE}.get(
        args.watchdog_action, arm.info.watchdog_action
    )
    return joints, timeout, action


def _settings(info) -> tuple[tuple, int, int]:
    """What CONFIG writes, from an INFO: (joints, watchdog_timeout_ms, watchdog_action)."""
    return info.joints, info.watchdog_timeout_ms, info.watchdog_action


def _write_config(arm, joints, timeout_ms: int, action: int) -> None:
    """CONFIG (the arm must be released), then check that the firmware now holds exactly that."""
    from robokit.firmware_bridge.hardware_arm import ArmMismatch

    info = arm.configure(tuple(joints), timeout_ms, action)
    if _settings(info) != (tuple(joints), timeout_ms, action):
        raise ArmMismatch("the firmware acknowledged CONFIG but reports a different configuration")


@contextlib.contextmanager
def _keep_alive(arm, timeout_ms: int) -> Iterator[None]:
    """While the block runs (the user is typing), PING from a background thread once per control period
    (at most a quarter of the watchdog timeout) so the firmware's communication watchdog does not trip
    and one lost reply stays within HardwareArm's three-period staleness limit. The block must not talk
    to the arm itself. A lost link is reported at once and raised when the block ends."""
    from robokit.arm import ArmError

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


def _ask_zero_us(input_fn: Callable[[str], str], prompt: str) -> float | None:
    """A zero pulse width in us typed by the user, or None (empty line: keep the current one). Asks
    again after anything that is not a number in the firmware's range; EOFError and KeyboardInterrupt
    (Ctrl-D, Ctrl-C) pass through."""
    from robokit.firmware_bridge.fixedpoint import PULSE_MAX_TICKS, PULSE_MIN_TICKS, TICK_US

    lo_us, hi_us = PULSE_MIN_TICKS * TICK_US, PULSE_MAX_TICKS * TICK_US
    while True:
        line = input_fn(prompt).strip()
        if not line:
            return None
        try:
            us = float(line)
        except ValueError:
            us = math.nan
        if lo_us <= us <= hi_us:  # False for nan
            return us
        print(
            f"  {line!r} is not a pulse width: type a number of us from {lo_us:.0f} to {hi_us:.0f}, "
            "Enter alone to keep the current value, Ctrl-C to abort"
        )


def _interactive(arm, joints: list, timeout_ms: int, action: int, names: list[str], input_fn) -> None:
    """Hold each joint of ``names`` at 0 rad (the others at home) and let the user adjust its zero
    pulse by eye. Every change is tried live: release, CONFIG, check, enable again where the servos
    are (a servo without feedback jumps to its first pulse), then hold the joint at 0 rad again."""
    from robokit.firmware_bridge.fixedpoint import TICK_US

    home = np.asarray(arm.spec.home_q, dtype=np.float64)
    arm.enable(home)
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
                us = _ask_zero_us(input_fn, prompt)
            if us is None:
                break
            joints[i] = dataclasses.replace(joints[i], pulse_zero_ticks=int(round(us / TICK_US)))
            here = arm.read().q
            arm.release()
            _write_config(arm, joints, timeout_ms, action)
            arm.enable(here)
            arm.command(pose)


def _calibrate(arm, args, input_fn: Callable[[str], str]) -> int:
    """Write the calibration (CONFIG, kept in EEPROM) and the JSON file; returns an exit code."""
    from robokit.arm import ArmError
    from robokit.firmware_bridge.hardware_arm import ArmRefused

    names = list(arm.spec.joint_names)
    for name in args.joint:
        if name not in names:
            raise SystemExit(f"unknown joint {name!r}; joints: {', '.join(names)}")
    state = arm.read()
    if not state.released:
        raise ArmRefused(
            "the arm is enabled, and the firmware accepts CONFIG only while released: "
            "run `robokit arm release` first (with a hand on the arm)"
        )
    joints, timeout, action = _requested_config(arm, args)
    original = _settings(arm.info)
    if not args.interactive:
        _write_config(arm, joints, timeout, action)
    else:
        if state.estop_latched:
            raise ArmRefused("e-stop latched: run `robokit arm clear` first")
        if state.watchdog_tripped:
            arm.clear()  # the arm is released: clearing only lets ENABLE through
        print(
            "Interactive calibration: the servos start at the home pose, then each joint in turn is held "
            "at 0 rad. Type a zero pulse width in us and press Enter to try it, Enter alone to keep it "
            "and go on, Ctrl-C to abort without changing anything."
        )
        try:
            if (tuple(joints), timeout, action) != original:
                _write_config(arm, joints, timeout, action)
            _interactive(arm, joints, timeout, action, args.joint or names, input_fn)
        except (KeyboardInterrupt, EOFError, ArmError) as exc:
            why = "" if isinstance(exc, (KeyboardInterrupt, EOFError)) else f": {exc}"
            print(f"\ncalibration aborted{why}", file=sys.stderr)
            try:
                arm.release()
                if _settings(arm.connect()) != original:  # HELLO: what the firmware holds now
                    _write_config(arm, *original)
                    print("restored the previous calibration", file=sys.stderr)
                print("the arm is released (no pulses)", file=sys.stderr)
            except ArmError as again:
                print(
                    f"could not restore the previous state ({again}); check `robokit arm status`",
                    file=sys.stderr,
                )
            print(f"nothing written to {args.out}", file=sys.stderr)
            return 1
        arm.connect()  # HELLO again: the firmware's configuration as it now stands, checked against the spec
        print(
            "the arm stays enabled; when the host goes quiet its watchdog holds or releases as configured "
            "(`robokit arm release` stops the pulses now)"
        )
    args.out.write_text(json.dumps(calibration_dict(arm), indent=2))
    if not args.interactive or _settings(arm.info) != original:
        print(f"calibration written to the firmware's EEPROM and to {args.out}")
    else:
        print(f"firmware calibration unchanged; written to {args.out}")
    return 0


def _home(arm, timeout_s: float = 10.0) -> int:
    """Enable if released (clearing a tripped watchdog first), slew to the home pose at the servo speed
    and print the status; returns 1 if the setpoints did not reach home within ``timeout_s``."""
    state = arm.read()
    if state.watchdog_tripped and not state.estop_latched:
        print("clearing the tripped watchdog (the arm keeps still)", file=sys.stderr)
        state = arm.clear()
    if state.released:
        print("enabling from the home pose", file=sys.stderr)
        arm.enable()
    home = np.asarray(arm.spec.home_q, dtype=np.float64)
    deadline = time.monotonic() + timeout_s
    while True:
        arm.command(home)  # also keeps the watchdog fed while the servos slew
        error_rad = float(np.max(np.abs(arm.read().q - home)))
        if error_rad <= 1e-3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    _print_status(arm)
    if error_rad > 1e-3:
        print(f"robokit arm: not home after {timeout_s:.0f} s (off by {error_rad:.4f} rad)", file=sys.stderr)
        return 1
    return 0


def _calibrate_options(args: argparse.Namespace) -> dict[str, object]:
    """The calibrate group's options as given (falsy when left at their defaults)."""
    return {
        "--joint": args.joint,
        "--zero-us": args.zero_us is not None,
        "--us-per-rad": args.us_per_rad is not None,
        "--watchdog-ms": args.watchdog_ms is not None,
        "--watchdog-action": args.watchdog_action,
        "--interactive": args.interactive,
        "--out": args.out != Path("calibration.json"),
    }


def main(argv: list[str], input_fn: Callable[[str], str] = input) -> int:
    """``robokit arm``; ``input_fn`` reads the answers of ``calibrate --interactive``."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.action != "calibrate":
        given = [f for f, v in _calibrate_options(args).items() if v]
        if given:
            parser.error(f"calibrate options ({', '.join(given)}) are for `calibrate`, not `{args.action}`")
    from robokit.arm import ArmError
    from robokit.firmware_bridge.hardware_arm import HardwareArm

    try:
        with HardwareArm(args.port, args.robot, baud=args.baud) as arm:
            if args.action == "status":
                _print_status(arm)
            elif args.action == "enable":
                print("enabling: the servos jump to the home pose", file=sys.stderr)
                arm.enable()
                _print_status(arm)
            elif args.action == "home":
                return _home(arm)
            elif args.action == "release":
                arm.release()
                print("released: no pulses")
            elif args.action == "estop":
                arm.estop()
                print("E-STOP latched: pulses stopped until `robokit arm clear`")
            elif args.action == "clear":
                arm.clear()
                print("cleared; the arm stays released until `robokit arm enable`")
            else:
                return _calibrate(arm, args, input_fn)
    except ArmError as exc:
        print(f"robokit arm: {exc}", file=sys.stderr)
        return 1
    return 0
