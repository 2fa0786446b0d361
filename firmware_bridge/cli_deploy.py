"""``robokit deploy``: drive an arm (or a dry-run SimArm) with a policy file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from robokit.cli_parser import OneLineParser

if TYPE_CHECKING:
    from robokit.firmware_bridge.deploy import DeployLoop

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


MAX_DURATION_S = 24 * 3600.0


def _duration(text: str) -> float:
    """argparse type: seconds, > 0 and at most a day."""
    value = _positive(text)
    if value > MAX_DURATION_S:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_DURATION_S:.0f} s (a day), got {text}")
    return value


def _baud(text: str) -> int:
    """argparse type: a serial baud rate, an integer from 300 to 4000000."""
    from robokit.firmware_bridge.serial_port import check_baud

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer baud rate, got {text!r}") from None
    try:
        return check_baud(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="robokit deploy",
        description=(
            "Run a policy file on an arm at the policy's control rate: each tick reads a fresh state "
            "(PING -> STATE), builds the observation, runs the policy, maps the action and passes every "
            "target through the robot's own safety envelope (a policy file's recorded settings may only "
            "narrow it; the output says which it did). Goals outside the robot's workspace are refused "
            "before the arm moves. Logs every tick to ticks.jsonl and ends with summary.json (tip "
            "holding per goal included) and joints.png."
        ),
        epilog=(
            "Examples:\n"
            "  robokit deploy runs/reach/policy.safetensors --port /dev/ttyUSB0 --goal 0.20,0.05,0.15\n"
            "  robokit deploy runs/reach/policy.safetensors --dry-run --goal 0.20,0.05,0.15\n"
            "Goals are in the robot's base frame, in metres. Exit codes: 0 done, 1 aborted (bad action, "
            "link lost, e-stop or watchdog, log write failed, Ctrl-C), 2 refused before the arm moved "
            "(policy/arm mismatch, unreadable file, goal outside the workspace, unusable --log, port busy)."
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
        "--duration", type=_duration, default=10.0, help="seconds in total, split over the goals (default 10)"
    )
    p.add_argument("--hz", type=_positive, help="override the policy's control rate (benchmarking only)")
    p.add_argument("--log", help="log folder, new or existing (default runs/deploy-<timestamp>/)")
    p.add_argument(
        "--robot", help="the arm's robot (default: servo_arm on a port; the policy's robot with --dry-run)"
    )
    p.add_argument("--baud", type=_baud, default=1_000_000, help="baud rate (default 1000000)")
    p.add_argument(
        "--on-exit", choices=("hold", "release"), default="hold", help="arm state when done (default hold)"
    )
    p.add_argument("--calibration", help="calibration JSON the firmware must match (robokit arm calibrate)")
    p.add_argument("--quiet", action="store_true", help="no live status line")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from robokit.paths import PathError, check_input_file, check_output_dir

    try:
        if args.log is not None:
            args.log = check_output_dir(args.log, "--log")
        if args.calibration is not None:
            args.calibration = check_input_file(args.calibration, "--calibration")
    except PathError as exc:
        return _refuse(str(exc))
    from robokit.console import StatusLine
    from robokit.firmware_bridge.deploy import DeployAborted, parse_goal
    from robokit.policies import load_policy

    try:
        goals = [parse_goal(g) for g in args.goal]
    except ValueError as exc:
        return _refuse(str(exc))
    if args.calibration is not None and args.dry_run:
        return _refuse("--calibration checks a real arm's firmware; it has no meaning with --dry-run")
    if args.calibration is not None and not args.calibration.is_file():
        return _refuse(f"calibration file {args.calibration} does not exist")
    try:
        policy = load_policy(args.policy)
    except (OSError, ValueError) as exc:
        return _refuse(str(exc) if str(args.policy) in str(exc) else f"cannot use {args.policy}: {exc}")
    status = None if args.quiet else StatusLine()
    try:
        loop = _prepare(args, policy, goals, status)  # everything checked; nothing touched the arm yet
    except (KeyError, ValueError) as exc:
        return _refuse(str(exc).strip("'\""))
    try:
        arm = _connect(args, loop)
    except _Refused as exc:
        loop.close()
        return _refuse(str(exc))
    loop.arm = arm
    code = EXIT_OK
    previous = _stop_on_signals()  # SIGTERM/SIGHUP end the run like Ctrl-C: the arm holds, summary written
    try:
        summary = loop.run(goals, seconds_per_goal=args.duration / len(goals))
    except DeployAborted as exc:
        summary, code = exc.summary, EXIT_ABORTED
        if status is not None:
            status.end()
        print(f"robokit deploy: stopped: {exc.reason}", file=sys.stderr)
    finally:
        _restore_signals(previous)
        loop.close()
        arm.close()
    if status is not None:
        status.end()
    _report(summary, loop)
    return code


def _stop_on_signals() -> dict:
    """Turn SIGTERM and SIGHUP (a closed terminal, `timeout`, a service manager) into KeyboardInterrupt
    named after the signal, which the deploy loop ends cleanly on. Returns the previous handlers."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}


def _restore_signals(previous: dict) -> None:
    import signal

    for sig, old in previous.items():
        signal.signal(sig, old)


class _Refused(Exception):
    """A reason to refuse the run before the arm moves (one line for the user)."""


def _refuse(text: str) -> int:
    print(f"robokit deploy: {text}", file=sys.stderr)
    return EXIT_REFUSED


def _prepare(args: argparse.Namespace, policy, goals: list, status) -> DeployLoop:
    """Robot, policy fit, goals inside the workspace, rate, safety block, a finite action, the log
    folder: all checked before anything is sent. Raises KeyError/ValueError with the reason."""
    from robokit.firmware_bridge.deploy import DeployLoop, check_goals, check_policy_for_robot
    from robokit.robots import default_robot, get_robot

    robot = get_robot(args.robot or (policy.spec["robot"] if args.dry_run else default_robot()))
    check_policy_for_robot(policy.spec, robot)
    log_dir = args.log or Path("runs") / f"deploy-{time.strftime('%Y%m%d-%H%M%S')}"
    wire = None
    if args.dry_run:
        from robokit.firmware_bridge import protocol as pr
        from robokit.firmware_bridge.fixedpoint import rad_to_100urad

        wire = lambda q: pr.encode_frame(pr.Targets(seq=0, targets_100urad=rad_to_100urad(q))).hex(" ")  # noqa: E731
    loop = DeployLoop(
        policy, None, robot=robot, hz=args.hz, log_dir=log_dir, wire_preview=wire, status=status
    )
    try:  # goals against the workspace and the floor actually enforced (a policy file may raise it)
        warnings = check_goals(goals, robot, loop.safety.settings.floor_z_m)
        if args.duration / len(goals) * loop.hz < 1:
            raise ValueError(
                f"--duration {args.duration:g} s over {len(goals)} goals at {loop.hz:g} Hz is less than one "
                "tick per goal"
            )
    except ValueError:
        loop.close()  # removes the log folder it made: a refused run leaves nothing
        raise
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for note in loop.safety_notes:
        print(f"safety: the policy file's settings: {note}")
    return loop


def _connect(args: argparse.Namespace, loop: DeployLoop):
    """The arm, connected, checked and enabled; raises _Refused (nothing moved) otherwise."""
    from robokit.core.arm import ArmError

    robot = loop.robot
    if args.dry_run:
        from robokit.envs.sim_arm import RealtimeSimArm

        print(
            f"dry run: a simulated {robot.name} in real time; ticks.jsonl shows the TARGETS bytes that would be sent"
        )
        return RealtimeSimArm(robot)
    from robokit.firmware_bridge.hardware_arm import HardwareArm

    try:
        arm = HardwareArm(
            args.port,
            robot,
            baud=args.baud,
            on_close=args.on_exit,
            calibration=args.calibration,
            control_period_s=1.0 / loop.hz,
        )
    except (ArmError, OSError, ValueError) as exc:
        raise _Refused(str(exc)) from None
    try:
        state = arm.read()
        if state.estop_latched:
            raise _Refused("the e-stop is latched; check the arm, then `robokit arm clear`")
        if state.watchdog_tripped:
            print("note: the firmware watchdog had tripped (the host went silent earlier); clearing it")
            arm.clear()
            state = arm.read()
        if state.released:
            print("enabling the servos: pulses resume at the last setpoints (home after power-on), then home")
            arm.enable()
    except _Refused:
        arm.close()
        raise
    except ArmError as exc:
        arm.close()
        raise _Refused(str(exc)) from None
    return arm


def _report(summary, loop: DeployLoop) -> None:
    from robokit.firmware_bridge.deploy import plot_joints

    png = plot_joints(loop.log_dir, loop.robot) if loop.log_dir is not None else None
    if summary is not None:
        print(
            f"{summary.ticks} ticks in {summary.duration_s:.1f} s: {summary.achieved_hz:.1f} Hz "
            f"(target {summary.target_hz:g}), lateness p50 {summary.lateness_p50_ms:.2f} ms, "
            f"p99 {summary.lateness_p99_ms:.2f} ms, missed deadlines {summary.missed_deadlines}"
        )
        for i, g in enumerate(summary.goals):
            goal = ",".join(f"{v:.3f}" for v in g["goal_m"])
            hold = g.get("holding") or {}  # from HOLD_SETTLE_S after the first success
            held = (
                f", holding {hold['tip_path_cm_per_s']:.2f} cm/s, q std max {hold['q_std_max_rad']:.4f} rad"
                if hold.get("tip_path_cm_per_s") is not None
                else ""
            )
            print(f"goal {i + 1} ({goal}) m: reach error {g['reach_error_m'] * 100:.2f} cm{held}")
        for note in summary.notes:
            if not note.startswith("safety: "):
                print(f"note: {note}")
    files = "ticks.jsonl, summary.json" + (f", {png.name}" if png else "")
    print(f"log: {loop.log_dir}/{files}")
