"""``robokit train ENV --out RUN``: train a policy with Stable-Baselines3 into a run folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="robokit train",
        description="Train a policy on a robokit env with Stable-Baselines3 (SAC/TD3 + HER, or PPO). "
        "Per-env defaults live in robokit/policies/config.py. Writes RUN/policy.safetensors, "
        "RUN/checkpoints/, RUN/tb/ (TensorBoard), RUN/config.yaml and RUN/evals.jsonl.",
        epilog="examples:\n  robokit train robokit/ServoArmReach-v0 --out runs/reach\n"
        "  robokit train robokit/ServoArmReach-v0 --out runs/reach --resume   # after Ctrl-C or a crash",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("env_id", help="environment id, e.g. robokit/ServoArmReach-v0 (see `robokit envs`)")
    p.add_argument("--out", required=True, help="run folder (created); with --resume, the run to continue")
    p.add_argument(
        "--algo", choices=["td3", "sac", "ppo"], help="algorithm (default: td3; with --resume: the run's)"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from the run's last checkpoint (the run must have one, and the same env)",
    )
    p.add_argument(
        "--steps", type=int, help="total env steps over all envs (default: per env; with --resume: the run's)"
    )
    p.add_argument("--seed", type=int, help="random seed (default: 0)")
    p.add_argument("--n-envs", type=int, help="parallel envs, one process each (default: per algo)")
    p.add_argument("--device", default=None, help="torch device (default: cpu)")
    p.add_argument("--eval-every", type=int, help="env steps between evaluations (default: 500)")
    p.add_argument("--eval-episodes", type=int, help="episodes per evaluation (default: 50)")
    p.add_argument("--checkpoint-every", type=int, help="env steps between checkpoints (default: 2000)")
    p.add_argument(
        "--stop-success",
        type=float,
        help="stop when evaluations reach this success rate (default 0.96, twice in a row)",
    )
    p.add_argument("--no-stop", action="store_true", help="run all --steps, no early stop")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from robokit.envs.cli import unknown_env_message

    if msg := unknown_env_message(args.env_id):  # before anything is written or SB3 is imported
        print(f"robokit train: {msg}", file=sys.stderr)
        return 2
    from robokit.policies.config import TrainConfig, default_config
    from robokit.policies.training import ResumeError, RunExistsError, train

    saved = Path(args.out) / "config.yaml"
    if args.resume and args.algo and saved.is_file() and TrainConfig.load_yaml(saved).algo != args.algo:
        print(
            f"robokit train: {args.out} was trained with {TrainConfig.load_yaml(saved).algo}, not {args.algo}; "
            "drop --algo to resume it, or choose another --out",
            file=sys.stderr,
        )
        return 2
    config = default_config(
        args.env_id,
        args.algo or "td3",
        out=args.out,
        steps=args.steps,
        seed=args.seed,
        n_envs=args.n_envs,
        device=args.device,
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        checkpoint_every=args.checkpoint_every,
        stop_success_rate=args.stop_success,
        progress=not args.no_progress,
    )
    if args.no_stop:
        config.stop_success_rate = None
    if args.resume and args.steps is None and saved.is_file():  # keep the run's own step budget
        config.steps = TrainConfig.load_yaml(saved).steps
    try:
        path = train(config, resume=args.resume)
    except (RunExistsError, ResumeError) as exc:
        print(f"robokit train: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: checkpoint written; continue with --resume --out {args.out}", file=sys.stderr)
        return 130
    from robokit.policies.plots import read_evals

    rows = read_evals(path.parent)
    last = f", last eval success {rows[-1]['success_rate']:.2f} at {rows[-1]['steps']} steps" if rows else ""
    print(f"policy: {path}{last}")
    return 0
