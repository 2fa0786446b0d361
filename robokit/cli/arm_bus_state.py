"""``robokit arm status|release|estop --robot so101 --port P``: what a servo-bus arm is doing, and
stopping it (robokit.cli.arm_bus routes here).

status connects without changing the torque and prints each servo: id, joint, encoder count,
Homing_Offset (EEPROM), angle, load and temperature, the supply, whether the torque is on, and, with
``--calibration FILE``, whether the EEPROM matches the file (a mismatch exits 2, as deploy refuses it).
release switches every servo's torque off (the arm goes limp: support it). estop does the same: a servo bus
has no e-stop latch that outlives the program (the deploy loop's latch is in its process), so the message
says so. Exit codes: 0 done, 1 failed on the arm, 2 refused before anything was sent.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
STATE_ACTIONS = ("status", "release", "estop")


def run(args: argparse.Namespace) -> int:
    """``args.action`` in STATE_ACTIONS on the bus arm at ``args.port``; one line on stderr on failure."""
    from robokit.core.arm import ArmError
    from robokit.firmware_bridge.feetech.arm import ArmMismatch, FeetechArm
    from robokit.firmware_bridge.feetech.calibration import CalibrationError, read_calibration

    try:
        calibration = None if args.calibration is None else read_calibration(args.calibration, args.robot)
    except CalibrationError as exc:
        print(f"robokit arm: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        arm = FeetechArm(args.port, args.robot, baud=args.baud, calibration=calibration)
    except ArmMismatch as exc:  # read only, nothing written: a refusal
        print(f"robokit arm: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except ArmError as exc:
        print(f"robokit arm: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        with arm:  # on_close "hold": closing changes nothing
            if args.action == "status":
                _print_status(arm, args)
            else:
                state = arm.release() if args.action == "release" else arm.estop()
                print(f"torque off on every servo: the arm is limp (support it); mode {state.mode.value}")
                if args.action == "estop":
                    print("a servo bus keeps no e-stop latch after this program ends: the servos stay limp until "
                          "a program switches their torque on (cut the supply to be sure)")  # fmt: skip
        return EXIT_OK
    except ArmError as exc:
        print(f"robokit arm: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _print_status(arm, args: argparse.Namespace) -> None:
    state = arm.read()
    ids = arm.ids
    offsets = {i: arm.bus.read(i, "Homing_Offset") for i in ids}
    temperature = arm.bus.sync_read("Present_Temperature", ids)
    volts = sorted(arm.volts.values())
    supply = f"{volts[0]:.1f} V" if volts[0] == volts[-1] else f"{volts[0]:.1f}-{volts[-1]:.1f} V"
    print(f"{arm.spec.name} on {args.port} at {args.baud} baud: {len(ids)} servos (model "
          f"{arm.settings.model_number}), supply {supply}, torque {'on' if arm.torque_on else 'off'}, "
          f"mode {state.mode.value}")  # fmt: skip
    print(
        f"{'joint':14s} {'id':>3s} {'count':>6s} {'offset':>7s} {'q_rad':>8s} {'q_deg':>8s} {'load':>6s} {'temp_C':>6s}"
    )
    counts = arm.counts if arm.counts is not None else np.zeros(len(ids))
    for k, (name, i) in enumerate(zip(arm.spec.joint_names, ids)):
        print(f"{name:14s} {i:3d} {int(counts[k]):6d} {offsets[i]:7d} {state.q[k]:8.4f} "
              f"{np.degrees(state.q[k]):8.2f} {arm.loads[k]:6.2f} {temperature[i]:6d}")  # fmt: skip
    if args.calibration is None:
        print("calibration: none given (angles by the robot folder's zero; --calibration FILE checks the "
              "EEPROM against a file)")  # fmt: skip
    else:
        print(f"calibration: the EEPROM matches {args.calibration}")
    problem = arm.supply_problem()
    if problem:
        print(f"warning: {problem}")
