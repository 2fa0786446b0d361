"""``robokit teleop --leader P1 --follower P2``: a leader arm drives the follower through the Safety layer;
``--record DIR`` writes the episodes as a LeRobotDataset v3.0 (robokit.runtime.teleop)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from robokit.cli.parser import EXIT_USAGE, OneLineParser, float_in, int_in

PROG = "robokit teleop"
EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
        description="Teleoperate a servo-bus arm: the leader (torque off, moved by hand) drives the "
        "follower through robokit's Safety layer (joint limits, max step per tick, floor) at --fps. With "
        "--record DIR, --episodes episodes of --seconds each are written as a LeRobotDataset v3.0 "
        "(observation.state: the follower's joint angles, action: the targets sent, rad; wall_time_s: "
        "each tick's measured time); an episode whose ticks cannot keep --fps is not kept and recording "
        "stops. Exit 0 done, 1 failed on an arm or too slow, 2 bad arguments, 130 Ctrl-C (143 SIGTERM, 129 SIGHUP).",
        epilog="example (in emulation):\n  robokit emulate --robot so101 --leader   # PORT /dev/pts/A\n"
        "  robokit emulate --robot so101            # PORT /dev/pts/B\n"
        "  robokit teleop --leader /dev/pts/A --follower /dev/pts/B --record data/teleop --episodes 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--leader", required=True, help="the leader arm's serial port")
    p.add_argument("--follower", required=True, help="the follower arm's serial port")
    p.add_argument("--robot", help="both arms' robot (default: the one servo-bus arm robokit knows, so101)")
    p.add_argument("--fps", type=int_in(1, 200), default=30, help="loop and recording rate, Hz (default 30)")
    p.add_argument("--seconds", type=float_in(0.1, 3600.0), default=10.0, help="per episode (default 10)")
    p.add_argument("--episodes", type=int_in(1, 10_000), default=1, help="episodes to run (default 1)")
    p.add_argument("--reset-s", type=float_in(0.0, 600.0), default=2.0,
                   help="following, not recorded, between episodes (default 2)")  # fmt: skip
    p.add_argument("--record", metavar="DIR", help="write the episodes here (a new or empty folder)")
    p.add_argument("--task", default="teleoperation", help="the dataset's task text")
    p.add_argument("--camera", action="append", default=[], type=_camera_spec, metavar="NAME=SOURCE",
                   help="record this camera's frames as observation.images.NAME (repeatable): SOURCE is "
                   "what OpenCV opens, a device index (0), a /dev/video path, a stream URL (the emulator's "
                   "--camera prints one) or a video file")  # fmt: skip
    p.add_argument("--leader-calibration", help="the leader's calibration file (robokit arm calibrate)")
    p.add_argument("--follower-calibration", help="the follower's calibration file")
    return p


def _camera_spec(text: str):
    from robokit.runtime.camera import CameraSpec

    try:
        return CameraSpec.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--camera {text!r}: ")) from None


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    problem = _problem(args)
    if problem:
        print(f"{PROG}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from robokit.core.arm import ArmError
    from robokit.firmware_bridge.feetech.calibration import CalibrationError, read_calibration

    try:
        cals = [None if f is None else read_calibration(f, args.robot)
                for f in (args.leader_calibration, args.follower_calibration)]  # fmt: skip
    except CalibrationError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from robokit.firmware_bridge.feetech.arm import ArmMismatch
    from robokit.runtime.camera import CameraError

    try:
        with _cameras(args.camera) as cameras:  # opened before any arm: a bad one refuses, nothing moved
            return _run(args, cameras, *cals)
    except _CameraRefused as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CameraError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP named by stop_on_signals
        import signal

        name = exc.args[0] if exc.args and exc.args[0] in ("SIGTERM", "SIGHUP") else None
        how = f"stopped by {name}" if name else "interrupted"
        print(f"{PROG}: {how}; the episodes finished so far are kept", file=sys.stderr)
        return 128 + signal.Signals[name].value if name else EXIT_INTERRUPTED
    except ArmMismatch as exc:  # found before anything moved: a refusal
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ArmError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _problem(args: argparse.Namespace) -> str | None:
    from robokit.robots import list_robots, robot_folder

    bus_arms = [r for r in list_robots() if robot_folder(r).bus is not None]
    if args.robot is None and len(bus_arms) == 1:
        args.robot = bus_arms[0]
    if args.robot is None:
        return f"--robot is required: the servo-bus arms are {', '.join(bus_arms)}"
    if args.robot not in list_robots() or robot_folder(args.robot).bus is None:
        return f"--robot {args.robot}: teleoperation drives servo-bus arms (so101)"
    names = [c.name for c in args.camera]
    if len(set(names)) != len(names):
        return f"--camera: a camera named twice ({', '.join(sorted(n for n in set(names) if names.count(n) > 1))})"
    if args.camera and args.record is None:
        return "--camera records frames: give --record DIR"
    if not args.leader or not args.follower:
        return "--leader and --follower each name a serial port"
    if os.path.realpath(args.leader) == os.path.realpath(args.follower):
        return f"--leader and --follower are the same port ({os.path.realpath(args.leader)})"
    if args.record is not None:
        from robokit.paths import PathError, check_output_dir

        try:
            root = check_output_dir(args.record, "--record")
        except PathError as exc:
            return str(exc)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            return f"--record {root}: want a new or empty folder"
    return None


MAX_EPISODE_FRAME_BYTES = 2 * 1024**3  # an episode's camera frames are held in memory until it is written


def _check_frame_memory(args: argparse.Namespace, cameras: dict) -> None:
    """_CameraRefused when an episode's frames would take more than MAX_EPISODE_FRAME_BYTES of memory."""
    ticks = round(args.seconds * args.fps)
    need = sum(ticks * h * w * 3 for h, w in (camera.shape for camera in cameras.values()))
    if need > MAX_EPISODE_FRAME_BYTES:
        raise _CameraRefused(
            f"an episode of {args.seconds:g} s at {args.fps} fps holds {need / 1024**3:.1f} GiB of camera frames "
            f"in memory (at most {MAX_EPISODE_FRAME_BYTES / 1024**3:g} GiB): record shorter episodes (--seconds)"
        )


class _CameraRefused(Exception):
    """A camera that could not be opened (before anything moved)."""


@contextlib.contextmanager
def _cameras(specs: list) -> Iterator[dict]:
    """The cameras open (name -> Camera), closed on the way out; _CameraRefused if one cannot open."""
    from robokit.runtime.camera import Camera, CameraError

    with contextlib.ExitStack() as stack:
        cameras = {}
        for spec in specs:
            try:
                cameras[spec.name] = stack.enter_context(Camera(spec))
            except CameraError as exc:
                raise _CameraRefused(str(exc)) from None
        yield cameras


def _run(args: argparse.Namespace, cameras: dict, leader_cal, follower_cal) -> int:
    from robokit.core.arm import ArmError
    from robokit.core.signals import signals_held
    from robokit.firmware_bridge.feetech.arm import FeetechArm
    from robokit.robots import get_robot
    from robokit.runtime.bringup import bring_up, slew_to
    from robokit.runtime.session import stop_on_signals
    from robokit.runtime.teleop import Teleop, TeleopTooSlow

    robot = get_robot(args.robot)
    _check_frame_memory(args, cameras)
    with _named("leader", args.leader):
        leader_arm = FeetechArm(args.leader, robot, on_close="release", calibration=leader_cal)
    try:
        with _named("follower", args.follower):
            follower_arm = FeetechArm(args.follower, robot, calibration=follower_cal)
    except BaseException:
        leader_arm.close()
        raise
    with leader_arm as leader, follower_arm as follower, _named_run(args), stop_on_signals():
        leader.release()  # moved by hand: its torque off, whatever a program left it with
        start = np.clip(leader.read().q, robot.lower, robot.upper)  # a leader can be moved past the limits
        bring_up(follower, pose=start, say=print)  # torque on, then slews to the leader's pose
        slew_to(follower, start, args.fps)  # an arm already enabled elsewhere gets there at 1 rad/s too
        teleop = Teleop(leader, follower, robot, args.fps)
        writer = _writer(args, cameras) if args.record else None
        try:
            return _episodes(args, teleop, writer, cameras)
        except TeleopTooSlow as exc:
            print(f"{PROG}: {exc}; recording stopped", file=sys.stderr)
            return EXIT_FAILED
        finally:
            teleop.close()
            with signals_held():  # a second Ctrl-C or a SIGTERM now would leave the dataset unreadable
                _finish(args, writer, robot.control_hz)
                with contextlib.suppress(ArmError):
                    follower.hold()  # goals where the joints stand: not pushing on toward the last target


def _episodes(args: argparse.Namespace, teleop, writer, cameras: dict) -> int:
    """Run (and record) the episodes; returns EXIT_OK. Raises TeleopTooSlow, ArmError, KeyboardInterrupt."""
    for k in range(args.episodes):
        print(f"episode {k + 1}/{args.episodes}: {args.seconds:g} s at {args.fps:g} Hz", flush=True)
        episode = teleop.run(args.seconds, cameras=cameras)
        teleop.check_rate(episode)
        if writer is not None:
            writer.add_episode(episode.frames(), episode.images)
        print(f"  {len(episode.wall_s)} ticks, {episode.late_ticks} late", flush=True)
        if k + 1 < args.episodes and args.reset_s > 0:
            teleop.run(args.reset_s)  # following, not recorded: the person resets the scene
    return EXIT_OK


def _finish(args: argparse.Namespace, writer, control_hz: float) -> None:
    """Close the dataset with the episodes kept (or remove an empty one) and say how to train on it."""
    if writer is not None and writer.episodes:
        n = len(writer.episodes)
        print(f"dataset: {writer.close()} ({n} episode{'s' if n != 1 else ''})")
        _say_how_to_train(args, control_hz)
    elif writer is not None:
        writer.abort()


def _say_how_to_train(args: argparse.Namespace, control_hz: float) -> None:
    """Print the command that clones the recording (or the rate to record at for one)."""
    from robokit.policies.datasets.joint_terms import clone_env_ids

    for env_id in clone_env_ids(args.robot):
        if abs(args.fps - control_hz) < 1e-9:
            out = Path("runs") / f"{Path(args.record).name}-bc"
            print(f"clone it: robokit train {env_id} --algo bc --dataset {args.record} --out {out}")
        else:
            print(f"(a recording at --fps {control_hz:g} trains a clone on {env_id} with --algo bc)")


def _writer(args: argparse.Namespace, cameras: dict):
    from robokit.policies.datasets import DatasetWriter
    from robokit.robots import get_robot

    n = get_robot(args.robot).n_joints
    features = {
        "observation.state": {"dtype": "float32", "shape": [n]},
        "action": {"dtype": "float32", "shape": [n]},
        "wall_time_s": {"dtype": "float64", "shape": [1]},
    }
    extra = {"source": "teleop", "robot": args.robot, "fps": args.fps, "leader": args.leader,
             "follower": args.follower, "units": "rad",
             "cameras": {name: str(camera.spec.source) for name, camera in cameras.items()}}  # fmt: skip
    shapes = {name: camera.shape for name, camera in cameras.items()}
    return DatasetWriter(Path(args.record), args.fps, features, args.task, cameras=shapes, robot_type=args.robot,
                         extra=extra)  # fmt: skip


@contextlib.contextmanager
def _named(role: str, port: str) -> Iterator[None]:
    """An ArmError raised inside names the arm: 'leader (/dev/ttyACM0): ...' (same class)."""
    from robokit.core.arm import ArmError

    try:
        yield
    except ArmError as exc:
        raise _renamed(exc, f"{role} ({port}): {exc}") from None


@contextlib.contextmanager
def _named_run(args: argparse.Namespace) -> Iterator[None]:
    """During the run: an ArmError names the arm whose port it mentions."""
    from robokit.core.arm import ArmError

    try:
        yield
    except ArmError as exc:
        text = str(exc)
        role = "leader" if args.leader in text else "follower" if args.follower in text else ""
        if not role:
            raise
        raise _renamed(exc, f"{role} ({getattr(args, role)}): {text}") from None


def _renamed(exc: Exception, text: str) -> Exception:
    """``exc``'s class with ``text`` (an ArmError where that class takes other arguments)."""
    from robokit.core.arm import ArmError

    try:
        return type(exc)(text)
    except TypeError:
        return ArmError(text)
