"""``robokit deploy``: drive an arm (or a dry-run SimArm) with a policy file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_ABORTED, EXIT_REFUSED = 0, 1, 2


def _positive(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="robokit deploy",
        description=(
            "Run a policy file on an arm at the policy's control rate: each tick reads a fresh state "
            "(PING -> STATE), builds the observation, runs the policy, maps the action and passes every "
            "target through the safety settings recorded in the policy file. Logs every tick to "
            "ticks.jsonl and ends with summary.json and joints.png."
        ),
        epilog=(
            "Examples:\n"
            "  robokit deploy runs/reach/policy.safetensors --port /dev/ttyUSB0 --goal 0.20,0.05,0.15\n"
            "  robokit deploy runs/reach/policy.safetensors --dry-run --goal 0.20,0.05,0.15\n"
            "Goals are in the robot's base frame, in metres. Exit codes: 0 done, 1 aborted (bad action, "
            "link lost, e-stop or watchdog, Ctrl-C), 2 refused at start (policy/arm mismatch, unreadable file)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("policy", type=Path, help="policy file (.safetensors) written by `robokit train`")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--port", help="serial port or pyserial URL: /dev/ttyUSB0, /dev/pts/7, socket://host:port"
    )
    where.add_argument(
        "--dry-run", action="store_true", help="drive a simulated arm in real time; no port needed"
    )
    p.add_argument(
        "--goal", action="append", required=True, help="x,y,z in m (base frame); repeat for several goals"
    )
    p.add_argument(
        "--duration", type=_positive, default=10.0, help="seconds in total, split over the goals (default 10)"
    )
    p.add_argument("--hz", type=_positive, help="override the policy's control rate (benchmarking only)")
    p.add_argument("--log", type=Path, help="log folder (default runs/deploy-<timestamp>/)")
    p.add_argument(
        "--robot", help="the arm's robot (default: servo_arm on a port; the policy's robot with --dry-run)"
    )
    p.add_argument("--baud", type=int, default=1_000_000, help="baud rate (default 1000000)")
    p.add_argument(
        "--on-exit", choices=("hold", "release"), default="hold", help="arm state when done (default hold)"
    )
    p.add_argument(
        "--calibration", type=Path, help="calibration JSON the firmware must match (robokit arm calibrate)"
    )
    p.add_argument("--quiet", action="store_true", help="no live status line")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from robokit.arm import ArmError
    from robokit.firmware_bridge.deploy import (
        DeployAborted,
        DeployLoop,
        PolicyMismatch,
        check_policy_for_robot,
        parse_goal,
        plot_joints,
    )
    from robokit.policies import load_policy
    from robokit.robots import get_robot

    try:
        goals = [parse_goal(g) for g in args.goal]
    except ValueError as exc:
        print(f"robokit deploy: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        policy = load_policy(args.policy)
    except (OSError, ValueError) as exc:
        print(f"robokit deploy: cannot use {args.policy}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        robot = get_robot(args.robot or (policy.spec["robot"] if args.dry_run else "servo_arm"))
        check_policy_for_robot(policy.spec, robot)  # before the arm is touched
    except (KeyError, PolicyMismatch) as exc:
        print(f"robokit deploy: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    log_dir = args.log or Path("runs") / f"deploy-{time.strftime('%Y%m%d-%H%M%S')}"
    arm = None
    try:
        if args.dry_run:
            from robokit.envs.sim_arm import RealtimeSimArm
            from robokit.firmware_bridge import protocol as pr
            from robokit.firmware_bridge.fixedpoint import rad_to_100urad

            arm = RealtimeSimArm(robot)
            wire = lambda q: pr.encode_frame(pr.Targets(seq=0, targets_100urad=rad_to_100urad(q))).hex(" ")  # noqa: E731
            print(
                f"dry run: a simulated {robot.name} in real time; ticks.jsonl shows the TARGETS bytes that would be sent"
            )
        else:
            from robokit.firmware_bridge.hardware_arm import HardwareArm

            wire = None
            period = 1.0 / float(args.hz or policy.spec["control_hz"])
            arm = HardwareArm(
                args.port,
                robot,
                baud=args.baud,
                on_close=args.on_exit,
                calibration=args.calibration,
                control_period_s=period,
            )
            state = arm.read()
            if state.estop_latched:
                print(
                    "robokit deploy: the e-stop is latched; check the arm, then `robokit arm clear`",
                    file=sys.stderr,
                )
                return EXIT_REFUSED
            if state.watchdog_tripped:
                print("note: the firmware watchdog had tripped (the host went silent earlier); clearing it")
                arm.clear()
                state = arm.read()
            if state.released:
                print("enabling the servos from the home pose")
                arm.enable()
        loop = DeployLoop(
            policy,
            arm,
            robot=robot,
            hz=args.hz,
            log_dir=log_dir,
            wire_preview=wire,
            status=None if args.quiet else _status_line,
        )
    except PolicyMismatch as exc:
        print(f"robokit deploy: {exc}", file=sys.stderr)
        if arm is not None:
            arm.close()
        return EXIT_REFUSED
    except ArmError as exc:
        print(f"robokit deploy: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    code = EXIT_OK
    try:
        summary = loop.run(goals, seconds_per_goal=args.duration / len(goals))
    except DeployAborted as exc:
        summary, code = exc.summary, EXIT_ABORTED
        print(f"\nrobokit deploy: stopped: {exc.reason}", file=sys.stderr)
    finally:
        loop.close()
        arm.close()
    if not args.quiet:
        print()
    png = plot_joints(log_dir, robot)
    if summary is not None:
        print(
            f"{summary.ticks} ticks in {summary.duration_s:.1f} s: {summary.achieved_hz:.1f} Hz "
            f"(target {summary.target_hz:g}), lateness p50 {summary.lateness_p50_ms:.2f} ms, "
            f"p99 {summary.lateness_p99_ms:.2f} ms, missed deadlines {summary.missed_deadlines}"
        )
        for i, g in enumerate(summary.goals):
            goal = ",".join(f"{v:.3f}" for v in g["goal_m"])
            print(f"goal {i + 1} ({goal}) m: reach error {g['reach_error_m'] * 100:.2f} cm")
    print(f"log: {log_dir}/ticks.jsonl, summary.json, {png.name}")
    return code


def _status_line(text: str) -> None:
    print("\r" + text, end="", flush=True)
