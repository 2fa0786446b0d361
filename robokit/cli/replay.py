"""``robokit replay DIR --episode K``: redo a recorded episode in sim and check the observations
(``robokit.policies.datasets.replay``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robokit.cli.parser import EXIT_USAGE, OneLineParser, int_in

PROG = "robokit replay"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
        description="Replay episode K of a dataset robokit recorded: make its env, reset with the recorded "
        "seed, step the recorded actions and compare every observation with the recorded one. Exit 0 "
        "when all agree within 1e-6, 1 when they do not (the largest deviation is printed), 2 for a "
        "bad dataset or argument.",
        epilog="example:\n  robokit replay data/reach --episode 3 --video ep3.mp4",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", metavar="DIR", help="a LeRobotDataset v3.0 folder written by `robokit record`")
    p.add_argument("--episode", type=int_in(0), required=True, help="episode index, >= 0")
    p.add_argument("--video", metavar="OUT.mp4", help="also write an mp4 of the replay")
    arm = p.add_argument_group("on an arm: a teleoperation recording (robokit teleop --record) replayed")
    arm.add_argument("--port", help="send the episode's actions to this arm (through Safety) instead of sim")
    arm.add_argument("--calibration", help="the arm's calibration file (robokit arm calibrate)")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.port is not None:
        if args.video is not None:
            return _usage("--video films a replay in sim; not with --port")
        from robokit.cli.replay_arm import replay_on_port

        return replay_on_port(args)
    if args.calibration is not None:
        return _usage("--calibration goes with --port")
    if args.video is not None:
        from robokit.paths import PathError, check_output_file

        if Path(args.video).suffix.lower() != ".mp4":  # as policies.datasets.replay.check_video_path
            return _usage(f"--video {args.video}: name an .mp4 file (the replay is written as H.264 mp4)")
        try:
            check_output_file(args.video, "--video")
        except PathError as exc:
            return _usage(str(exc))
    from robokit.policies.datasets import TOLERANCE, DatasetError, replay

    try:
        result = replay(args.dataset, args.episode, video=args.video)
    except DatasetError as exc:
        return _usage(str(exc))
    where = f" (at {result.worst})" if result.max_deviation > 0 else ""
    print(
        f"{result.env_id} episode {result.episode}: {result.frames} steps, max deviation {result.max_deviation:.3g}{where}"
    )
    if result.video is not None:
        print(f"video: {result.video}")
    if not result.reproduced:
        print(f"{PROG}: observations differ by more than {TOLERANCE:g}: not reproduced", file=sys.stderr)
        return 1
    return 0


def _usage(message: str) -> int:
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_USAGE
