"""``robokit arm``: manual control and calibration of an arm running the robokit firmware."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

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
        "--joint", action="append", default=[], help="joint to change (repeat; default: all with values)"
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


def _calibrate(arm, args) -> None:
    import dataclasses

    from robokit.firmware_bridge import protocol as pr
    from robokit.firmware_bridge.fixedpoint import TICK_US, gain_q16

    joints = list(arm.info.joints)
    names = list(arm.spec.joint_names)
    chosen = args.joint or (names if (args.zero_us is not None or args.us_per_rad is not None) else [])
    for name in chosen:
        if name not in names:
            raise SystemExit(f"unknown joint {name!r}; joints: {', '.join(names)}")
        i = names.index(name)
        if args.zero_us is not None:
            joints[i] = dataclasses.replace(joints[i], pulse_zero_ticks=int(round(args.zero_us / TICK_US)))
        if args.us_per_rad is not None:
            joints[i] = dataclasses.replace(joints[i], gain_q16=gain_q16(args.us_per_rad))
    timeout = args.watchdog_ms if args.watchdog_ms is not None else arm.info.watchdog_timeout_ms
    action = {"hold": pr.WATCHDOG_HOLD, "release": pr.WATCHDOG_RELEASE}.get(
        args.watchdog_action, arm.info.watchdog_action
    )
    arm.configure(tuple(joints), timeout, action)
    if args.interactive:
        print(
            "Interactive calibration: each joint is held at 0 rad; type a new zero pulse width in us and "
            "press Enter to try it, or press Enter alone to accept."
        )
        arm.enable()
        for i, name in enumerate(names):
            q0 = [0.0 if k == i else v for k, v in enumerate(arm.read().q)]
            arm.command(q0)
            while True:
                line = input(f"{name}: zero at {joints[i].pulse_zero_ticks * TICK_US:.1f} us > ").strip()
                if not line:
                    break
                joints[i] = dataclasses.replace(joints[i], pulse_zero_ticks=int(round(float(line) / TICK_US)))
                arm.configure(tuple(joints), timeout, action)
    args.out.write_text(json.dumps(calibration_dict(arm), indent=2))
    print(f"calibration written to the firmware's EEPROM and to {args.out}")


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
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
                s = arm.read()
                if s.released:
                    print("enabling from the home pose", file=sys.stderr)
                    arm.enable()
                import numpy as np

                home = np.asarray(arm.spec.home_q)
                arm.command(home)
                deadline = time.monotonic() + 10.0
                while time.monotonic() < deadline and np.max(np.abs(arm.read().q - home)) > 1e-3:
                    arm.command(home)  # keep the watchdog fed while the servos slew
                    time.sleep(0.05)
                _print_status(arm)
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
                _calibrate(arm, args)
    except ArmError as exc:
        print(f"robokit arm: {exc}", file=sys.stderr)
        return 1
    return 0
