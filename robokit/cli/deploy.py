"""``robokit deploy``: drive an arm (or a dry-run SimArm) with a policy file
(``robokit.runtime.session.run_deploy``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robokit.cli.parser import OneLineParser

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
    from robokit.firmware_bridge.link import BAUD

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
    p.add_argument("--baud", type=_baud, default=BAUD, help=f"baud rate (default {BAUD}, the firmware's)")
    p.add_argument(
        "--on-exit", choices=("hold", "release"), default="hold", help="arm state when done (default hold)"
    )
    p.add_argument(
        "--calibration",
        help="calibration JSON the arm must match (robokit arm calibrate): the firmware's, or for a servo-bus arm "
        "(--robot so101) its EEPROM's homing offsets and limits, whose zero counts and directions it then uses",
    )
    p.add_argument("--quiet", action="store_true", help="no live status line")
    return p


def main(argv: list[str]) -> int:
    """``robokit deploy``: parse, then ``robokit.runtime.session.run_deploy``; returns the exit code."""
    args = _parser().parse_args(argv)
    from robokit.console import StatusLine
    from robokit.runtime.session import DeployRefused, DeployRequest, run_deploy

    request = DeployRequest(
        policy=args.policy, goals=args.goal, duration_s=args.duration, port=args.port, dry_run=args.dry_run,
        hz=args.hz, log_dir=args.log, robot=args.robot, baud=args.baud, on_exit=args.on_exit,
        calibration=args.calibration,
    )  # fmt: skip
    status = None if args.quiet else StatusLine()
    try:
        outcome = run_deploy(request, warn=lambda text: print(text, file=sys.stderr), status=status)
    except DeployRefused as exc:
        print(f"robokit deploy: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        if status is not None:
            status.end()
    if outcome.aborted is not None:
        print(f"robokit deploy: stopped: {outcome.aborted}", file=sys.stderr)
    _report(outcome)
    return EXIT_OK if outcome.aborted is None else EXIT_ABORTED


def _report(outcome) -> None:
    """The run in a few lines on stdout, and joints.png next to the log."""
    from robokit.runtime.summary import plot_joints

    summary = outcome.summary
    png, plot_problem = None, ""
    if outcome.log_dir is not None:
        try:
            png = plot_joints(outcome.log_dir, outcome.robot)
        except (OSError, ValueError) as exc:  # the run and its summary stand; only the picture is missing
            plot_problem = f"note: joints.png not written: {getattr(exc, 'strerror', None) or exc}"
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
            error = "reach error" if summary.task == "reach" else f"{summary.task} error (object to goal)"
            print(f"goal {i + 1} ({goal}) m: {error} {g['reach_error_m'] * 100:.2f} cm{held}")
            print(f"  {goal_verdict(g, summary.success_threshold_m)}")
        link = summary.link or {}
        if "back_offs" in link:  # a servo-bus arm: its faults as counts
            print(
                f"bus: {link['retries']} retries ({link['timeouts']} missing, {link['corrupt']} corrupt replies), "
                f"{link['stale_reads']} stale reads, {link['back_offs']} back-offs from a stalled joint"
            )
        for note in summary.notes:
            if not note.startswith("safety: "):
                print(f"note: {note}")
    if plot_problem:
        print(plot_problem)
    files = "ticks.jsonl, summary.json" + (f", {png.name}" if png else "")
    print(f"log: {outcome.log_dir}/{files}")


def goal_verdict(goal: dict, threshold_m: float | None) -> str:
    """Whether a goal was reached and whether the arm was still there at the end, in words."""
    limit = "" if threshold_m is None else f" (success within {threshold_m * 100:.1f} cm)"
    if goal.get("ended_early"):
        limit += "; the run ended during this goal"
    if not goal.get("reached"):
        return f"NOT reached{limit}"
    ended_inside = threshold_m is None or goal["reach_error_m"] <= threshold_m
    when = (
        f"reached after {goal['time_to_reach_s']:.2f} s"
        if goal.get("time_to_reach_s") is not None
        else "reached"
    )
    return when + ("" if ended_inside else f", but ended outside the success distance{limit}")
