"""``robokit arm``: manual control and calibration of an arm running the robokit firmware
(``HardwareArm``, ``robokit.runtime.bringup.bring_up``, ``robokit.runtime.calibrate.calibrate``).

Every argument is checked before the port is opened; a bad one is one line on stderr and exit code 2,
with nothing sent to the arm and nothing written. Exit codes: 0 done, 1 the action failed or the arm
refused it (e-stop latched, link lost, not home in time), 2 refused before anything was sent (bad
argument, port busy or missing, another robot on the port).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from robokit.cli.parser import checked
from robokit.firmware_bridge.describe import describe_state

ACTIONS = ("status", "enable", "home", "release", "estop", "clear", "calibrate", "udev")
STOP_ACTIONS = ("status", "release", "estop")  # always reach the arm, even a firmware that does not match
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
DEFAULT_OUT = Path("calibration.json")


class UsageError(ValueError):
    """An argument that makes no sense; reported in one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``prog: message (see prog --help)`` and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_REFUSED, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _port(text: str) -> str:
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"{text!r} is not a serial port or URL")
    return text


def _parser() -> argparse.ArgumentParser:
    """``robokit arm ACTION --port PORT [options]``: the action, the link, and the calibrate options."""
    from robokit.firmware_bridge.link import BAUD
    from robokit.firmware_bridge.serial_port import BAUD_MAX, BAUD_MIN, check_baud

    p = _Parser(
        prog="robokit arm",
        description=(
            "Talk to an arm running the robokit firmware: status (versions, calibration, state, "
            "counters), enable (resume pulses at the last setpoints, home after power-on, and slew "
            "home; clears a tripped watchdog), home (enable, then wait until home at the servo speed), release (stop pulses), estop (latch an emergency stop), clear (clear "
            "e-stop / watchdog), calibrate (write per-servo pulse calibration to EEPROM and a JSON file; "
            "--robot so101: the SO-101's homing, directions and ranges), udev (print a udev rule naming the "
            "port's USB adapter by its serial number). A servo-bus arm (--robot so101) does status (each "
            "servo's count, Homing_Offset, angle, load, temperature; the supply; --calibration FILE checks "
            "the EEPROM), release and estop (torque off), calibrate and udev."
        ),
        epilog=(
            "Example: robokit arm --port /dev/ttyUSB0 calibrate --joint elbow --zero-us 1520 --out cal.json. "
            "A device path is opened exclusively (a second program gets 'port busy'). Exit codes: 0 done, "
            "1 failed or refused by the arm, 2 refused before anything was sent."
        ),
    )
    p.add_argument("action", choices=ACTIONS)
    p.add_argument(
        "--port",
        type=_port,
        help="serial port or pyserial URL (/dev/ttyUSB0, /dev/pts/N, socket://...); required except for "
        "calibrate --import-lerobot",
    )
    p.add_argument(
        "--baud",
        type=checked(check_baud, int),
        help=f"baud rate, {BAUD_MIN}..{BAUD_MAX} (default {BAUD}, the firmware's; a servo-bus arm: its "
        "robot folder's, 1000000 for the SO-101)",
    )
    p.add_argument(
        "--robot",
        help="RobotSpec the firmware must match (default: the default robot, servo_arm); so101: the SO-101 "
        "on its Feetech bus (status, release, estop, calibrate, udev)",
    )
    p.add_argument(
        "--calibration",
        type=Path,
        metavar="FILE",
        help="servo-bus arm, status: the arm's calibration file (robokit arm calibrate --out); the EEPROM is "
        "checked against it and angles are read with it",
    )
    _add_calibrate_options(p.add_argument_group("calibrate"))
    return p


def _add_calibrate_options(c: argparse._ArgumentGroup) -> None:
    """The options of ``robokit arm calibrate`` (the others refuse them)."""
    from robokit.firmware_bridge.calibration import (
        PULSE_MAX_US,
        PULSE_MIN_US,
        US_PER_RAD_MAX,
        US_PER_RAD_MIN,
        WATCHDOG_MAX_MS,
        WATCHDOG_MIN_MS,
        check_us_per_rad,
        check_zero_us,
    )

    c.add_argument(
        "--joint",
        action="append",
        default=[],
        help="joint to change (repeat); default: every joint (for --zero-us/--us-per-rad and --interactive)",
    )
    c.add_argument(
        "--zero-us",
        type=checked(check_zero_us),
        help=f"pulse width at 0 rad, {PULSE_MIN_US:.0f}..{PULSE_MAX_US:.0f} us",
    )
    c.add_argument(
        "--us-per-rad",
        type=checked(check_us_per_rad),
        help=f"pulse width change per rad, {US_PER_RAD_MIN:.0f}..{US_PER_RAD_MAX:.0f} us in magnitude "
        "(sign gives direction)",
    )
    c.add_argument(
        "--watchdog-ms",
        type=int,
        help=f"communication watchdog timeout, {WATCHDOG_MIN_MS}..{WATCHDOG_MAX_MS} ms and at least 3 "
        "control periods (120 ms at 25 Hz)",
    )
    c.add_argument(
        "--watchdog-action", choices=("hold", "release"), help="what the watchdog does when it trips"
    )
    c.add_argument(
        "--interactive", action="store_true", help="adjust each joint's zero pulse by eye, joint by joint"
    )
    c.add_argument(
        "--out",
        type=Path,
        help=f"calibration JSON, checked writable before anything is sent (default {DEFAULT_OUT}; a "
        "servo-bus arm: ROBOT_calibration.json)",
    )
    c.add_argument(
        "--import-lerobot",
        type=Path,
        metavar="FILE",
        help="servo-bus arm: convert LeRobot's calibration file of this arm onto robokit's joint angles "
        "(with --port: check the arm's EEPROM against it first)",
    )


def _robot(name: str | None):
    """The RobotSpec called ``name`` (None: the default robot), if the robokit firmware drives it; raises
    UsageError."""
    from robokit.robots import default_robot, get_robot, list_robots

    name = name or default_robot()
    try:
        spec = get_robot(name)
    except KeyError:
        raise UsageError(f"unknown robot {name!r}; known robots: {', '.join(list_robots())}") from None
    if not spec.servo_driven:
        raise UsageError(f"robot {name!r} is not driven by the robokit firmware (it drives hobby-servo arms)")
    return spec


def _bus_arm(name: str | None) -> bool:
    """Whether robot ``name`` is driven over a servo bus (its folder has a ``bus`` section)."""
    from robokit.robots import list_robots, robot_folder

    return name in list_robots() and robot_folder(name).bus is not None


def _validate(args: argparse.Namespace):
    """Check what the arguments mean together, before the port is opened; returns the RobotSpec.
    Raises UsageError."""
    from robokit.firmware_bridge.calibration import check_watchdog_for_period, check_writable
    from robokit.firmware_bridge.link import BAUD

    for flag, value in (("--import-lerobot", args.import_lerobot), ("--calibration", args.calibration)):
        if value is not None:
            raise UsageError(f"{flag} is for servo-bus arms: give their --robot (so101)")
    spec = _robot(args.robot)
    if args.port is None:
        raise UsageError("--port is required (the arm's serial port)")
    args.baud = BAUD if args.baud is None else args.baud
    if args.action != "calibrate":
        given = [f for f, v in _calibrate_options(args).items() if v]
        if given:
            raise UsageError(
                f"calibrate options ({', '.join(given)}) are for `calibrate`, not `{args.action}`"
            )
        return spec
    unknown = [n for n in args.joint if n not in spec.joint_names]
    if unknown:
        raise UsageError(f"unknown joint {unknown[0]!r}; {spec.name}'s joints: {', '.join(spec.joint_names)}")
    if args.joint and args.zero_us is None and args.us_per_rad is None and not args.interactive:
        raise UsageError(
            "--joint says which joints --zero-us, --us-per-rad or --interactive change; none given"
        )
    args.out = DEFAULT_OUT if args.out is None else args.out
    try:
        if args.watchdog_ms is not None:
            check_watchdog_for_period(args.watchdog_ms, spec.control_period_s)
        check_writable(args.out)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return spec


def _print_status(arm) -> None:
    from robokit.firmware_bridge.fixedpoint import (
        ANGLE_UNIT_RAD,
        TICK_US,
        gain_to_us_per_rad,
        max_speed_from_step,
    )

    info = arm.info
    s = arm.read()
    print(
        f"firmware {'.'.join(map(str, info.firmware_version))}, protocol {info.protocol_version}, "
        f"{info.n_joints} joints, frame {info.frame_period_us} us, watchdog {info.watchdog_timeout_ms} ms "
        f"-> {'release' if info.watchdog_action else 'hold'}"
    )
    print(
        f"{'joint':12s} {'lower':>8s} {'upper':>8s} {'speed':>7s} {'zero_us':>8s} {'us/rad':>8s} {'setpoint':>8s}"
    )
    for name, j, q in zip(arm.spec.joint_names, info.joints, s.q):
        print(
            f"{name:12s} {j.lower_100urad * ANGLE_UNIT_RAD:8.4f} {j.upper_100urad * ANGLE_UNIT_RAD:8.4f} "
            f"{max_speed_from_step(j.max_step_100urad):7.2f} {j.pulse_zero_ticks * TICK_US:8.1f} "
            f"{gain_to_us_per_rad(j.gain_q16):8.1f} {q:8.4f}"
        )
    print(f"state: {describe_state(s, info)}")
    print(
        f"frame {s.frame}; counters: "
        + ", ".join(f"{k}={s.extra[k]}" for k in ("rx_ok", "bad_crc", "bad_frame", "bad_msg", "rx_overflow"))
    )


def _warn_settings(arm) -> None:
    """A warning line for each firmware setting that cannot work (watchdog off or too short,
    calibration no servo has): ``robokit arm calibrate`` is how to repair them."""
    from robokit.firmware_bridge.calibration import firmware_settings_problems

    for problem in firmware_settings_problems(arm.info, arm.spec, arm.control_period_s):
        print(f"robokit arm: warning: {problem} (fix with `robokit arm calibrate`)", file=sys.stderr)


def _bring_up(arm, not_done: str, to_stderr: bool = False):
    """``robokit.runtime.bringup.bring_up`` with its steps printed (the watchdog note on stderr); None
    (after saying why on stderr) when a latched e-stop stops it."""
    from robokit.runtime.bringup import CLEARED_WATCHDOG, ArmNotReady, bring_up

    def say(text: str) -> None:
        # sys.stdout/stderr looked up at call time (a default bound at import goes stale when they are replaced)
        print(text, file=sys.stderr if to_stderr or text == CLEARED_WATCHDOG else sys.stdout)

    try:
        return bring_up(arm, say=say)
    except ArmNotReady:
        print(f"robokit arm: {not_done}; state: {describe_state(arm.read(), arm.info)}", file=sys.stderr)
        return None


def _enable(arm) -> int:
    """Bring the arm up: ENABLE (target: the home pose) if it is released, clearing a tripped watchdog
    first and saying so; an enabled arm is left as it is (nothing sent: ENABLE would move it). A latched
    e-stop is reported (exit 1): only ``robokit arm clear`` clears it."""
    ready = _bring_up(arm, "not enabled")
    if ready is None:
        return EXIT_FAILED
    if not ready.enabled:
        print("already enabled; nothing sent (`robokit arm home` moves it home at the servo speed)")
    _print_status(arm)
    return EXIT_OK


def _home(arm, timeout_s: float = 10.0) -> int:
    """Bring the arm up (as ``enable``), slew to the home pose at the servo speed and print the status;
    returns 1 if the setpoints did not reach home within ``timeout_s``."""
    if _bring_up(arm, "not moved", to_stderr=True) is None:
        return EXIT_FAILED
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
        return EXIT_FAILED
    return EXIT_OK


def _state_change(arm, action: str) -> int:
    """release, estop or clear; prints the state the firmware reports in its reply."""
    state = {"release": arm.release, "estop": arm.estop, "clear": arm.clear}[action]()
    done = {"release": "released", "estop": "E-STOP sent", "clear": "cleared"}[action]
    print(f"{done}; state: {describe_state(state, arm.info)}")
    return EXIT_OK


def _calibrate_options(args: argparse.Namespace) -> dict[str, object]:
    """The calibrate group's options as given (falsy when left out)."""
    return {
        "--joint": args.joint,
        "--zero-us": args.zero_us is not None,
        "--us-per-rad": args.us_per_rad is not None,
        "--watchdog-ms": args.watchdog_ms is not None,
        "--watchdog-action": args.watchdog_action,
        "--interactive": args.interactive,
        "--out": args.out is not None,
    }


def _run(arm, args: argparse.Namespace, input_fn: Callable[[str], str]) -> int:
    if arm.mismatch is not None:
        print(
            f"robokit arm: warning: {arm.mismatch} (only status, release and estop work on it)",
            file=sys.stderr,
        )
    else:
        _warn_settings(arm)
    if args.action == "status":
        _print_status(arm)
        return EXIT_OK
    if args.action == "enable":
        return _enable(arm)
    if args.action == "home":
        return _home(arm)
    if args.action == "calibrate":
        from robokit.runtime.calibrate import CalibrationRequest, calibrate

        request = CalibrationRequest(
            joints=list(args.joint), zero_us=args.zero_us, us_per_rad=args.us_per_rad,
            watchdog_ms=args.watchdog_ms, watchdog_action=args.watchdog_action,
            interactive=args.interactive, out=args.out,
        )  # fmt: skip
        return calibrate(arm, request, input_fn)
    return _state_change(arm, args.action)


def main(argv: list[str], input_fn: Callable[[str], str] = input) -> int:
    """``robokit arm``; ``input_fn`` reads the answers of ``calibrate --interactive``. Returns the exit
    code: 2 for anything refused before a byte is sent (arguments, port busy or missing, another robot)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed)
        return int(exc.code or 0)
    if args.action == "udev":
        from robokit.cli.arm_udev import main as udev_main

        return udev_main(args)
    if _bus_arm(args.robot):
        from robokit.cli.arm_bus import main as bus_main

        return bus_main(args, input_fn)
    try:
        spec = _validate(args)
    except UsageError as exc:
        print(f"robokit arm: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    from robokit.core.arm import ArmError
    from robokit.firmware_bridge.hardware_arm import HardwareArm

    try:  # check_settings=False: `arm` must reach a firmware whose settings need repair; and an arm must
        # always be stoppable: estop, release and status connect whatever the firmware's configuration
        stop = args.action in STOP_ACTIONS
        arm = HardwareArm(args.port, spec, baud=args.baud, check_settings=False, refuse_mismatch=not stop)
    except ArmError as exc:
        print(f"robokit arm: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        with arm:
            return _run(arm, args, input_fn)
    except ArmError as exc:
        print(f"robokit arm: {exc}", file=sys.stderr)
        return EXIT_FAILED
