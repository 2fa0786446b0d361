"""``robokit eval POLICY``: success rate over seeded episodes, eval.json, mp4 videos and PNG plots."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="robokit eval",
        description="Evaluate a policy file on its env: N seeded episodes (episode i uses seed SEED+i), "
        "in parallel worker processes. Writes DIR/eval.json (per-episode results and the aggregate), "
        "DIR/videos/*.mp4 with --video, and DIR/*.png plots.",
        epilog="example:\n  robokit eval runs/reach/policy.safetensors --episodes 100 --video",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("policy", help="a .safetensors policy file")
    p.add_argument("--out", help="output folder (default: eval-<timestamp>/ beside the policy)")
    p.add_argument("--episodes", type=int, default=100, help="episodes to run (default: 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of episode 0 (default: 0)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
    p.add_argument(
        "--env", dest="env_id", help="env id (default: the one recorded in the policy; see `robokit envs`)"
    )
    p.add_argument("--video", action="store_true", help="write mp4 videos of the first episodes")
    p.add_argument("--video-episodes", type=int, default=4, help="episodes to film (default: 4)")
    p.add_argument("--width", type=int, default=640, help="frame width in pixels (default: 640)")
    p.add_argument("--height", type=int, default=480, help="frame height in pixels (default: 480)")
    p.add_argument("--fps", type=float, help="video frame rate (default: the control rate)")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.env_id is not None:
        from robokit.envs.cli import unknown_env_message

        if msg := unknown_env_message(args.env_id):
            print(f"robokit eval: {msg}", file=sys.stderr)
            return 2
    from robokit.policies.evaluation import evaluate, print_table
    from robokit.policies.policy_file import PolicyFileError

    try:
        report = evaluate(
            args.policy,
            episodes=args.episodes,
            out_dir=args.out,
            video=args.video,
            video_episodes=args.video_episodes,
            workers=args.workers,
            seed=args.seed,
            width=args.width,
            height=args.height,
            fps=args.fps,
            env_id=args.env_id,
            plot=not args.no_plot,
            progress=not args.no_progress,
        )
    except PolicyFileError as exc:
        print(f"robokit eval: {exc}", file=sys.stderr)
        return 2
    print_table(report)
    print(f"results: {report['out_dir']}/eval.json")
    for name in report["videos"] + report["plots"]:
        print(f"  {report['out_dir']}/{name}")
    return 0
