"""``robokit arm calibrate|status|release|estop --robot so101``: an arm on a servo bus (its robot folder has
a ``bus`` section; status, release and estop in robokit.cli.arm_bus_state).

    robokit arm calibrate --robot so101 --port /dev/ttyACM0 --out so101.json      # step by step
    robokit arm calibrate --robot so101 --import-lerobot ~/.cache/.../follower.json --out so101.json
            [--port /dev/ttyACM0]        # and check the arm's EEPROM against it

Exit codes: 0 done, 1 failed on the arm, 2 refused before anything was sent (arguments, file, port), 130
Ctrl-C (or SIGTERM, SIGHUP). A calibration that stops puts the arm's previous calibration back in its EEPROM (and says so).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from robokit.cli.arm_bus_state import STATE_ACTIONS
from robokit.cli.arm_bus_state import run as run_state_action

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 130
BUS_ACTIONS = ("status", "release", "estop", "calibrate")


def main(args: argparse.Namespace, input_fn: Callable[[str], str] = input) -> int:
    """Run ``args.action`` for the bus arm ``args.robot``; one line on stderr for anything refused."""
    problem = _problem(args)
    if problem:
        print(f"robokit arm: {problem}", file=sys.stderr)
        return EXIT_REFUSED
    if args.action in STATE_ACTIONS:
        return run_state_action(args)
    from robokit.firmware_bridge.feetech.calibration import CalibrationError, read_calibration

    if args.import_lerobot is not None:
        try:
            calibration = read_calibration(args.import_lerobot, args.robot)
        except CalibrationError as exc:
            print(f"robokit arm: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        return _check_and_write(args, calibration)
    return _calibrate(args, input_fn)


def _problem(args: argparse.Namespace) -> str | None:
    """Why the arguments cannot run, or None (checked before the port is opened)."""
    from robokit.firmware_bridge.calibration import check_writable

    if args.action not in BUS_ACTIONS:
        return (f"{args.robot} is a servo-bus arm: `robokit arm` does {', '.join(BUS_ACTIONS)} for it "
                f"(robokit deploy --robot {args.robot} drives it)")  # fmt: skip
    firmware_only = [name for name in ("zero_us", "us_per_rad", "watchdog_ms", "watchdog_action")
                     if getattr(args, name) is not None] + ["interactive"] * bool(args.interactive)  # fmt: skip
    firmware_only += ["joint"] * bool(args.joint)
    if firmware_only:
        return f"--{firmware_only[0].replace('_', '-')} is for arms on the robokit firmware, not {args.robot}"
    if args.baud is None:
        from robokit.robots import robot_folder

        args.baud = robot_folder(args.robot).bus.baud
    if args.action in STATE_ACTIONS:
        if args.port is None:
            return f"{args.action} needs --port (the arm's servo bus)"
        given = [name for name in ("out", "import_lerobot") if getattr(args, name) is not None]
        return f"--{given[0].replace('_', '-')} is for calibrate, not {args.action}" if given else None
    if args.calibration is not None:
        return "--calibration is for status and deploy; calibrate writes one (--out)"
    if args.import_lerobot is None and args.port is None:
        return "calibrate needs --port (the arm's servo bus), or --import-lerobot FILE"
    args.out = Path(f"{args.robot}_calibration.json") if args.out is None else args.out
    if args.import_lerobot is not None and os.path.realpath(args.out) == os.path.realpath(
        args.import_lerobot
    ):
        return f"--out {args.out} is the LeRobot file being imported; write robokit's file beside it"
    try:
        check_writable(args.out)
    except ValueError as exc:
        return str(exc)
    return None


def _check_and_write(args: argparse.Namespace, calibration) -> int:
    """With --port: connect with the calibration (refused if the EEPROM differs); then write --out."""
    from robokit.core.arm import ArmError
    from robokit.firmware_bridge.feetech.arm import ArmMismatch, FeetechArm
    from robokit.firmware_bridge.feetech.calibration import write_calibration

    if args.port is not None:
        try:
            FeetechArm(args.port, args.robot, calibration=calibration, baud=args.baud).close()
        except ArmMismatch as exc:  # read, nothing written: a refusal
            print(f"robokit arm: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        except ArmError as exc:
            print(f"robokit arm: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(f"the arm's EEPROM matches {args.import_lerobot}")
    _keep_previous(args.out)
    write_calibration(args.out, calibration)
    print(f"wrote {args.out} ({calibration.source} calibration on robokit's joint angles)")
    return EXIT_OK


def _calibrate(args: argparse.Namespace, input_fn: Callable[[str], str]) -> int:
    from robokit.core.arm import ArmError
    from robokit.firmware_bridge.feetech.bus import FeetechBus
    from robokit.firmware_bridge.feetech.calibration import CalibrationError, write_calibration
    from robokit.runtime.calibrate_bus import calibrate_bus_arm, eeprom_note
    from robokit.runtime.session import stop_on_signals

    finished = threading.Event()

    def ask(prompt: str) -> None:
        if prompt.startswith("Move every joint"):  # recording runs until Enter, read in a thread
            print(prompt, flush=True)
            threading.Thread(target=lambda: (input_fn(""), finished.set()), daemon=True).start()
            return
        input_fn(f"{prompt} ")

    try:
        with FeetechBus(args.port, args.baud) as bus, stop_on_signals():  # SIGTERM/SIGHUP: as Ctrl-C
            calibration = calibrate_bus_arm(bus, args.robot, ask, finished.is_set, print)
    except KeyboardInterrupt as exc:
        print(f"robokit arm: interrupted; {eeprom_note(exc)}; no file written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (CalibrationError, ArmError, EOFError) as exc:
        reason = str(exc) or "no more input"
        print(
            f"robokit arm: calibration stopped: {reason}; {eeprom_note(exc)}; no file written",
            file=sys.stderr,
        )
        return EXIT_FAILED
    _keep_previous(args.out)
    write_calibration(args.out, calibration)
    print(f"wrote {args.out}; deploy with --calibration {args.out}")
    return EXIT_OK


def _keep_previous(out: Path) -> None:
    """An earlier calibration at ``out`` is kept as OUT.previous (said), not lost."""
    if out.is_file():
        kept = out.with_name(out.name + ".previous")
        os.replace(out, kept)
        print(f"the earlier {out} is kept as {kept}")
