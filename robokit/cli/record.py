"""``robokit record ENV --expert --episodes N --out DIR``: an expert's episodes as a LeRobotDataset v3.0
(``robokit.policies.datasets.record``)."""

from __future__ import annotations

import argparse
import signal
import sys

from robokit.cli.parser import EXIT_USAGE, OneLineParser, int_in

PROG = "robokit record"
SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))
CAMERAS = ("front", "side", "top")  # robokit.policies.datasets.record.VIEWS (kept here: --help stays light)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
        description="Record an env's scripted expert as a LeRobotDataset v3.0 in DIR: meta/info.json, "
        "stats.json, tasks.parquet, the episodes table, the frames as Parquet and one mp4 (H.264) per "
        "--camera. One frame per env step (fps = the control rate); episode i resets with seed SEED+i. "
        "Every option is checked before anything is written; a failed run leaves DIR as it was.",
        epilog="example:\n  robokit record robokit/PandaReach-v0 --expert --episodes 20 --out data/reach --camera front",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("env_id", metavar="ENV", help="env id (see `robokit envs`)")
    p.add_argument("--expert", action="store_true", required=True, help="act with the task's scripted expert")
    p.add_argument("--episodes", type=int_in(1, 100000), required=True, help="episodes to record, 1..100000")
    p.add_argument("--out", required=True, help="dataset folder (new or empty; see --overwrite)")
    p.add_argument(
        "--camera",
        action="append",
        default=[],
        choices=CAMERAS,
        help="a rendered view to store as observation.images.NAME (repeatable; front: the robot folder's camera)",
    )
    p.add_argument("--seed", type=int_in(0, 2**31 - 1), default=0, help="seed of episode 0 (default: 0)")
    p.add_argument(
        "--width", type=int_in(16, 1920), default=320, help="camera frame width, even (default: 320)"
    )
    p.add_argument(
        "--height", type=int_in(16, 1080), default=240, help="camera frame height, even (default: 240)"
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace a non-empty DIR (after the new one is complete)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from robokit.envs.catalog import unknown_env_message
    from robokit.paths import PathError, check_output_dir

    if msg := unknown_env_message(args.env_id):
        return _usage(msg)
    try:
        check_output_dir(args.out, "--out")
    except PathError as exc:
        return _usage(str(exc))
    from robokit.policies.datasets import DatasetError, RecordError, record

    stopped: list[int] = []
    previous = _stop_on_signals(stopped)
    try:
        result = record(
            args.env_id,
            args.out,
            args.episodes,
            cameras=args.camera,
            seed=args.seed,
            width=args.width,
            height=args.height,
            overwrite=args.overwrite,
            progress=not args.no_progress,
            stop=lambda: bool(stopped),
        )
    except RecordError as exc:
        return _usage(str(exc))
    except DatasetError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        signum = stopped[0] if stopped else signal.SIGINT
        how = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        print(f"{PROG}: {how}; {args.out} left as it was", file=sys.stderr)
        return 128 + signum
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
    print(
        f"recorded {result.episodes} episodes, {result.frames} frames "
        f"({result.successes}/{result.episodes} successful) in {result.root}"
    )
    return 0


def _usage(message: str) -> int:
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_USAGE


def _stop_on_signals(stopped: list[int]) -> dict[int, object]:
    """SIGINT, SIGTERM and SIGHUP end the run as Ctrl-C does: the first is noted in ``stopped`` and the
    recording stops before its next env step (RecordStopped: the temporary folder is removed, --out left
    as it was); a second raises KeyboardInterrupt at once. Noting, not raising, the first one matters: an
    exception raised in a handler that runs inside an at-fork or __del__ callback is swallowed. Returns
    the previous handlers."""

    def stop(signum: int, _frame: object) -> None:
        stopped.append(signum)
        if len(stopped) > 1:
            raise KeyboardInterrupt

    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        return {}
    return {s: signal.signal(s, stop) for s in SIGNALS}
