"""``robokit eval POLICY``: success rate over seeded episodes, eval.json, mp4 videos and PNG plots
(``robokit.policies.evaluate``)."""

from __future__ import annotations

import argparse
import sys

from robokit.cli.parser import EXIT_USAGE, OneLineParser, stdout_closed

PROG = "robokit eval"
VIDEO_ONLY = ("video_episodes", "width", "height", "fps")  # options that only mean something with --video


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
        description="Evaluate a policy file on its env: N seeded episodes (episode i uses seed SEED+i), "
        "in parallel worker processes. Each episode runs to the env's time limit; success counts from "
        "the first success, and from then on the holding is measured (tip path cm/s, joint std rad). "
        "Writes DIR/eval.json (per-episode results and the aggregate), DIR/videos/*.mp4 with --video, "
        "and DIR/*.png plots. Every option is checked before an episode runs.",
        epilog="example:\n  robokit eval runs/reach/policy.safetensors --episodes 100 --video",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "policy",
        help="a .safetensors policy file, or expert:ENV_ID for that env's scripted expert "
        "(e.g. expert:robokit/PandaPush-v0)",
    )
    p.add_argument("--out", help="output folder (default: eval-<timestamp>/ beside the policy)")
    p.add_argument("--episodes", type=int, default=100, help="episodes to run, 1..1000000 (default: 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of episode 0, >= 0 (default: 0)")
    p.add_argument("--workers", type=int, default=2, help="worker processes, 1..64 (default: 2)")
    p.add_argument(
        "--env", dest="env_id", help="env id (default: the one recorded in the policy; see `robokit envs`)"
    )
    p.add_argument(
        "--video",
        action="store_true",
        help="write mp4 videos of the first episodes (each filmed until at least 1 s after its first "
        "success) and a grid of them",
    )
    p.add_argument("--video-episodes", type=int, help="with --video: episodes to film, 1..16 (default: 4)")
    p.add_argument("--width", type=int, help="with --video: frame width, 64..4096 pixels (default: 640)")
    p.add_argument("--height", type=int, help="with --video: frame height, 64..4096 pixels (default: 480)")
    p.add_argument(
        "--fps", type=float, help="with --video: video frame rate, 1..240 (default: the control rate)"
    )
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the episodes on Ray, --workers actors (same seeds, same per-episode results): auto (a "
        "cluster `ray start --head` began here), HOST:PORT of a cluster's head, or local (a Ray started "
        "for this command); not with --video; needs the scale extra: pip install -e '.[scale]'",
    )
    p.add_argument("--no-plot", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _usage(message: str) -> int:
    """One line on stderr; the usage-error exit code."""
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_USAGE


def _ray_problem(args: argparse.Namespace) -> str | None:
    """Why ``--ray`` cannot be used as given (with --video, a malformed address, no Ray), or None."""
    from robokit.policies.ray_backend import RayUnavailable, check_address

    if args.video:
        return "--video writes its files from local workers: drop --video or --ray"
    try:
        check_address(args.ray)
        import ray  # noqa: F401
    except RayUnavailable as exc:
        return str(exc)
    except ImportError:
        return "robokit eval --ray needs Ray: pip install -e '.[scale]'"
    return None


def _args_problem(args: argparse.Namespace) -> str | None:
    """A usage problem with the arguments, found before the policy is read, or None."""
    given = [f"--{name.replace('_', '-')}" for name in VIDEO_ONLY if getattr(args, name) is not None]
    if given and not args.video:
        return f"{', '.join(given)} only apply with --video"
    if args.out is not None:  # before the policy is read: an empty --out would mean the default folder
        from robokit.paths import PathError, check_output_dir

        try:
            check_output_dir(args.out, "--out")
        except PathError as exc:
            return str(exc)
    if args.ray is not None and (problem := _ray_problem(args)):
        return problem
    if args.env_id is not None and args.policy.startswith("expert:"):
        return "expert:ENV_ID names its env; drop --env"
    if args.env_id is not None:
        from robokit.envs.catalog import unknown_env_message

        if msg := unknown_env_message(args.env_id):
            return msg
    return None


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if problem := _args_problem(args):
        return _usage(problem)
    from robokit.policies.eval_pool import EvalWorkerError
    from robokit.policies.eval_table import print_table
    from robokit.policies.evaluation import EvalArgumentError, evaluate
    from robokit.policies.experts import NoExpertError
    from robokit.policies.policy_file import PolicyFileError
    from robokit.policies.ray_backend import RayUnavailable

    try:
        report = evaluate(
            args.policy,
            episodes=args.episodes,
            out_dir=args.out,
            video=args.video,
            video_episodes=4 if args.video_episodes is None else args.video_episodes,
            workers=args.workers,
            seed=args.seed,
            width=640 if args.width is None else args.width,
            height=480 if args.height is None else args.height,
            fps=args.fps,
            env_id=args.env_id,
            plot=not args.no_plot,
            progress=not args.no_progress,
            ray=args.ray,
        )
    except (
        EvalArgumentError,
        PolicyFileError,
        NoExpertError,
        RayUnavailable,
    ) as exc:  # PolicyMismatchError included
        return _usage(str(exc))
    except EvalWorkerError as exc:
        print(f"{PROG}: {exc}; eval.json not written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; eval.json not written", file=sys.stderr)
        return 130
    try:
        print_table(report)
        print(f"results: {report['out_dir']}/eval.json")
        for name in report["videos"] + report["plots"] + [n for n in [report.get("report_html")] if n]:
            print(f"  {report['out_dir']}/{name}")
    except BrokenPipeError:
        return stdout_closed()
    return 0
