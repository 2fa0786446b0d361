"""``robokit sweep ENV --out DIR --trials N``: an Optuna hyperparameter sweep over ``robokit train`` runs,
locally or on a Ray cluster (``robokit.policies.sweep.run_sweep``; needs the ``scale`` extra)."""

from __future__ import annotations

import argparse
import sys

from robokit.cli.parser import OneLineParser, int_in
from robokit.policies.config import SEED_MAX

PROG = "robokit sweep"
INSTALL = "pip install -e '.[scale]'"

DESCRIPTION = (
    "Search training settings for an env with Optuna: TPE sampling, trials pruned (median rule) on the "
    "success rate training measures every --eval-every steps. Each trial is a whole `robokit train` run "
    "(same seed, same steps) in its own process, or a Ray task with --ray; a trial that crashes is recorded "
    "as failed with its error and the sweep goes on. The study lives in DIR/study.journal: several sweeps "
    "on one machine may share it, and rerunning the command resumes it (N counts the study's finished "
    "trials; trials cut by Ctrl-C are retried first). Writes DIR/trial-NNNN/ (run folders) and "
    "DIR/best.yaml, which `robokit train ENV --config DIR/best.yaml --out RUN` takes. The trial's score is "
    "its mean success rate over the evaluations (docs/scale.md has the search space per algorithm)."
)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog="examples:\n  robokit sweep robokit/ServoArmReach-v0 --out runs/sweep --trials 20\n"
        "  robokit sweep robokit/ServoArmReach-v0 --out runs/sweep --trials 40 --ray auto   # `ray start --head` first\n"
        "  robokit train robokit/ServoArmReach-v0 --config runs/sweep/best.yaml --out runs/best\n\n"
        f"Needs Optuna, and Ray for --ray: {INSTALL}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("env_id", help="environment id, e.g. robokit/ServoArmReach-v0 (see `robokit envs`)")
    p.add_argument("--out", required=True, help="sweep folder: study.journal, trial-NNNN/, best.yaml")
    p.add_argument(
        "--trials", type=int_in(1, 10_000), required=True, help="finished trials the study should hold"
    )
    p.add_argument(
        "--algo", choices=["td3", "sac", "tqc", "ppo"], help="algorithm to tune (default: the env's)"
    )
    p.add_argument("--steps", type=int_in(1), help="env steps per trial (default: the env's)")
    p.add_argument("--seed", type=int_in(0, SEED_MAX), help="every trial's training seed (default: 0)")
    p.add_argument("--eval-every", type=int_in(1), help="env steps between evaluations, the pruning points")
    p.add_argument("--eval-episodes", type=int_in(1), help="episodes per evaluation (default: 50)")
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run trials as Ray tasks: auto (a cluster started with `ray start --head` on this machine), "
        "HOST:PORT of a cluster's head, or local (a Ray started for this command)",
    )
    p.add_argument(
        "--jobs",
        type=int_in(1, 64),
        help="trials at a time, 1-64 (default: 1 locally, each a process; with --ray, the cluster's CPUs)",
    )
    return p


def _fail(message: str, code: int = 2) -> int:
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)
    return code


def _backend(args: argparse.Namespace) -> object:
    """The backend the arguments ask for; raises RayUnavailable."""
    if args.ray is None:
        from robokit.policies.sweep_trial import LocalBackend

        return LocalBackend(jobs=args.jobs or 1)
    from robokit.policies.ray_backend import RayBackend, connect

    return RayBackend(connect(args.ray, num_cpus=args.jobs), capacity=args.jobs)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from robokit.cli.train import out_problem

    if problem := out_problem(args.out):
        return _fail(problem)
    if args.ray is not None:
        from robokit.policies.ray_backend import RayUnavailable, check_address

        try:
            check_address(args.ray)
        except RayUnavailable as exc:
            return _fail(str(exc))
    from robokit.envs.catalog import unknown_env_message

    if msg := unknown_env_message(args.env_id):
        return _fail(msg)
    try:
        import optuna  # noqa: F401

        if args.ray is not None:
            import ray  # noqa: F401
    except ImportError:
        return _fail(f"robokit sweep needs Optuna{' and Ray' if args.ray else ''}: {INSTALL}")
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from robokit.console import StatusLine
    from robokit.policies.ray_backend import RayUnavailable
    from robokit.policies.sweep import SweepError, base_settings, run_sweep

    overrides = {"steps": args.steps, "seed": args.seed, "eval_every": args.eval_every}
    overrides["eval_episodes"] = args.eval_episodes
    try:
        base_settings(args.env_id, args.algo, **overrides)  # refused before Ray starts or DIR is made
        backend = _backend(args)
        status = StatusLine(sys.stderr, interval_s=10.0)  # each evaluation; plain lines into a pipe

        def echo(line: str) -> None:
            status.end()
            print(line, flush=True)

        result = run_sweep(
            args.env_id,
            args.out,
            args.trials,
            args.algo,
            overrides,
            backend=backend,
            echo=echo,
            progress=status,
        )
    except (SweepError, RayUnavailable) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:  # SweepInterrupted, or a second Ctrl-C while the first was handled
        return _fail(f"interrupted; the study in {args.out} is kept: rerun the same command to resume", 130)
    counts = ", ".join(f"{n} {state}" for state, n in sorted(result.trials.items()))
    print(f"trials: {counts}")
    if result.best_config is None:
        return _fail(f"no trial completed, so no best configuration; see the errors above ({args.out})", 1)
    print(f"best: {result.best_value:.3f} (mean success rate over the evaluations)")
    from robokit.policies.search_space import SEARCH_SPACE

    shown = [k for k in SEARCH_SPACE[result.best_config.algo] if not k.startswith("net_")] + ["net_arch"]
    for key in shown:
        print(f"  {key}: {getattr(result.best_config, key)}")
    print(f"config: {result.best_file}")
    print(f"train it: robokit train {args.env_id} --config {result.best_file} --out RUN")
    return 0
