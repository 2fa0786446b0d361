"""``robokit train ENV --out RUN``: train a policy with Stable-Baselines3 into a run folder
(``robokit.policies.train`` with ``robokit.policies.default_config``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from robokit.cli.parser import OneLineParser, fraction, int_in
from robokit.paths import PathError, check_output_dir
from robokit.policies.config import SEED_MAX
from robokit.policies.config_file import MAX_ENVS

if TYPE_CHECKING:
    from robokit.policies.config import TrainConfig

PROG = "robokit train"
# options the run's config.yaml fixes: on --resume they would be ignored, so they are refused
FIXED_ON_RESUME = {
    "seed": "--seed",
    "n_envs": "--n-envs",
    "eval_every": "--eval-every",
    "eval_episodes": "--eval-episodes",
    "checkpoint_every": "--checkpoint-every",
    "stop_success": "--stop-success",
}


DESCRIPTION = (
    "Train a policy on a robokit env: Reach with Stable-Baselines3 (TD3/SAC/TQC + HER, or PPO), object tasks "
    "by behaviour cloning of the task's scripted expert (bc; minutes on a CPU). Per-env defaults live in each "
    "robot folder's robot.yaml (envs[].train). Writes RUN/policy.safetensors, RUN/config.yaml and "
    "RUN/evals.jsonl, and for RL RUN/checkpoints/ and RUN/tb/ (TensorBoard); bc runs are not resumed and "
    "count gradient steps. A usage error (exit code 2) writes nothing."
)


CONFIG_HELP = (
    "YAML or JSON of training settings (TrainConfig fields, e.g. the best.yaml `robokit sweep` writes); the "
    "env's defaults fill the rest and flags override the file; checked before anything runs"
)
EVAL_EVERY_HELP = "env steps (bc: gradient steps) between evaluations (default: per algo, 500; bc 4000)"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog="examples:\n  robokit train robokit/ServoArmReach-v0 --out runs/reach\n"
        "  robokit train robokit/PandaPush-v0 --out runs/push   # bc from 1000 expert episodes\n"
        "  robokit train robokit/ServoArmReach-v0 --out runs/reach --resume   # after Ctrl-C or a crash\n"
        "  robokit train robokit/ServoArmReach-v0 --out runs/reach --resume --steps 20000   # train on\n\n"
        "With --resume the run's config.yaml fixes the settings: only --steps, --device and --no-progress\n"
        "may be given. A run that already did its steps (or stopped solved) has nothing to do: exit 0.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("env_id", help="environment id, e.g. robokit/ServoArmReach-v0 (see `robokit envs`)")
    p.add_argument("--out", required=True, help="run folder (created); with --resume, the run to continue")
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument(
        "--algo",
        choices=["td3", "sac", "tqc", "ppo", "bc"],
        help="algorithm (default: the env's, bc for object tasks, else td3; with --resume: the run's)",
    )
    p.add_argument(
        "--dataset",
        help="--algo bc learns from this LeRobotDataset v3.0 folder (robokit record writes one), or without "
        "it from 1000 episodes of the task's scripted expert; --steps then counts gradient steps",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from the run's last checkpoint (the run must have one, and the same env)",
    )
    p.add_argument(
        "--steps",
        type=int_in(1),
        help="total env steps over all envs, >= 1 (default: per env; with --resume: the run's)",
    )
    p.add_argument("--seed", type=int_in(0, SEED_MAX), help="random seed (default: 0)")
    p.add_argument(
        "--n-envs",
        type=int_in(1, MAX_ENVS),
        help=f"parallel envs, one process each, 1-{MAX_ENVS} (default: per algo)",
    )
    p.add_argument(
        "--device",
        default=None,
        help="torch device: cpu, cuda, cuda:N, mps or auto (default: cpu; with --resume: the run's); "
        "a device this torch does not have is refused",
    )
    p.add_argument("--eval-every", type=int_in(1), help=EVAL_EVERY_HELP)
    p.add_argument("--eval-episodes", type=int_in(1), help="episodes per evaluation (default: 50)")
    p.add_argument("--checkpoint-every", type=int_in(1), help="env steps between checkpoints (default: 2000)")
    p.add_argument(
        "--stop-success",
        type=fraction,
        help="stop when evaluations reach this success rate twice in a row, in (0, 1] (default: the env's "
        "robot.yaml train setting, else 0.96; So101Reach 0.98)",
    )
    p.add_argument("--no-stop", action="store_true", help="run all --steps, no early stop")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def out_problem(out: str) -> str | None:
    """Why ``--out`` cannot be a run folder (a file, under a file, not writable), or None."""
    if not out.strip():
        return "--out must name a folder"
    try:  # the usual faults in train's own words; what raises here is left to check_output_dir
        run = Path(out)
        if run.exists() and not run.is_dir():
            return f"--out {out} is a file; a run is a folder (choose another --out)"
        parent = run.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            return f"--out {out}: {parent} is a file, so the run folder cannot be created there"
    except OSError:
        pass
    try:  # too long, a symlink loop, /proc, /sys, read-only: a probe mkdir and write, removed at once
        check_output_dir(out, "--out")
    except PathError as exc:
        return str(exc)
    return None


def args_problem(args: argparse.Namespace) -> str | None:
    """A usage problem the parser cannot see (contradictions, --out, options --resume ignores), or None."""
    if args.no_stop and args.stop_success is not None:
        return "--stop-success and --no-stop contradict each other; give one"
    if args.dataset is not None and args.algo not in (None, "bc"):
        return "--dataset goes with --algo bc (behaviour cloning)"
    if problem := out_problem(args.out):
        return problem
    if args.config is not None:
        if args.resume:
            return f"--config cannot change a run on --resume: {args.out}/config.yaml fixes its settings"
        from robokit.policies.config_file import ConfigFileError, read_config_file

        try:
            args.file_settings = read_config_file(args.config)
        except ConfigFileError as exc:
            return str(exc)
        file_env = args.file_settings.get("env_id", args.env_id)
        if file_env != args.env_id:
            return f"{args.config} is for {file_env}, not {args.env_id}; give that env or another file"
    if args.resume:
        given = [flag for name, flag in FIXED_ON_RESUME.items() if getattr(args, name) is not None]
        given += ["--no-stop"] if args.no_stop else []
        if given:
            return (
                f"{', '.join(given)} cannot change a run on --resume: {args.out}/config.yaml fixes "
                f"{'them' if len(given) > 1 else 'it'}; drop {'them' if len(given) > 1 else 'it'}, or start a new --out"
            )
    if args.device is not None:
        from robokit.policies.device import resolve_device

        try:
            resolve_device(args.device)
        except ValueError as exc:
            return str(exc)
    return None


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if problem := args_problem(args):
        print(f"{PROG}: {problem}", file=sys.stderr)
        return 2
    from robokit.envs.catalog import unknown_env_message

    if msg := unknown_env_message(args.env_id):  # before anything is written or SB3 is imported
        print(f"{PROG}: {msg}", file=sys.stderr)
        return 2
    from robokit.core.run_files import POLICY_FILE
    from robokit.policies.datasets.format import DatasetError
    from robokit.policies.eval_pool import EvalWorkerError
    from robokit.policies.training import ResumeError, RunExistsError, TrainConfigError, train

    try:
        steps, device, code = _resume_settings(args)
        if code is not None:
            return code
        path = train(_config(args, steps, device), resume=args.resume)
    except (RunExistsError, ResumeError, TrainConfigError, DatasetError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except EvalWorkerError as exc:
        print(f"{PROG}: {exc}; {_what_is_kept(Path(args.out), POLICY_FILE)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        from robokit.console import is_terminal

        end_bar = "\n" if is_terminal(sys.stderr) else ""  # a tqdm bar may still be open on the terminal
        print(f"{end_bar}interrupted: {_what_is_kept(Path(args.out), POLICY_FILE)}", file=sys.stderr)
        return 130
    from robokit.policies.plots import read_evals

    rows = read_evals(path.parent)
    last = f", last eval success {rows[-1]['success_rate']:.2f} at {rows[-1]['steps']} steps" if rows else ""
    print(f"policy: {path}{last}")
    return 0


def _what_is_kept(run: Path, policy_file: str) -> str:
    """After Ctrl-C: what the run folder holds now, in words (a checkpoint to resume, only the policy so
    far, or nothing yet)."""
    from robokit.policies.checkpoints import latest_checkpoint

    if latest_checkpoint(run) is not None:
        return f"checkpoint written; continue with --resume --out {run}"
    if (run / policy_file).is_file():
        return f"the policy so far: {run / policy_file}"
    return "stopped before anything was saved; nothing to resume"


def _resume_settings(args: argparse.Namespace) -> tuple[int | None, str | None, int | None]:
    """(steps, device, exit code or None): on ``--resume`` of a run with a config.yaml, its own steps and
    device unless given; exit 2 for another ``--algo``, 0 if the resume has nothing to do (said so).
    Raises ResumeError for an unreadable config.yaml or checkpoint."""
    from robokit.core.run_files import CONFIG_FILE, POLICY_FILE
    from robokit.policies.checkpoints import nothing_to_do, saved_config

    run = Path(args.out)
    steps, device = args.steps, args.device
    if not (args.resume and (run / CONFIG_FILE).is_file()):
        return steps, device, None
    saved = saved_config(run)
    if args.algo and saved.algo != args.algo:
        print(
            f"{PROG}: {args.out} was trained with {saved.algo}, not {args.algo}; "
            "drop --algo to resume it, or choose another --out",
            file=sys.stderr,
        )
        return steps, device, 2
    steps, device = steps or saved.steps, device or saved.device  # the run's own, unless given
    same_env = saved.env_id == args.env_id  # another env: train() refuses it
    if same_env and (msg := nothing_to_do(run, steps)) and (run / POLICY_FILE).is_file():
        print(f"nothing to do: {msg}")
        print(f"policy: {run / POLICY_FILE} (unchanged)")
        return steps, device, 0
    return steps, device, None


def _config(args: argparse.Namespace, steps: int | None, device: str | None) -> TrainConfig:
    """The TrainConfig the arguments ask for (the env's training defaults, overridden by flags)."""
    from robokit.policies.config import TrainConfig, default_config

    file_settings = getattr(args, "file_settings", {})
    algo = args.algo or file_settings.get("algo")
    flags = dict(
        out=args.out,
        steps=steps,
        seed=args.seed,
        n_envs=args.n_envs,
        device=device,
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        checkpoint_every=args.checkpoint_every,
        stop_success_rate=args.stop_success,
        progress=not args.no_progress,
        dataset=args.dataset,
    )
    base = default_config(args.env_id, algo).to_dict()  # the env's defaults < the file < the flags
    config = TrainConfig.from_dict(
        {**base, **file_settings, "algo": base["algo"], **{k: v for k, v in flags.items() if v is not None}}
    )
    if args.no_stop:
        config.stop_success_rate = None
    from robokit.policies.config import TrainConfigError

    if args.dataset is not None and config.algo != "bc":
        raise TrainConfigError(f"--dataset goes with --algo bc; {args.env_id} trains with {config.algo}")
    rl_only = [f for f, v in (("--n-envs", args.n_envs), ("--checkpoint-every", args.checkpoint_every)) if v]
    if config.algo == "bc" and rl_only:
        one = len(rl_only) == 1
        raise TrainConfigError(
            f"{' and '.join(rl_only)} only {'means' if one else 'mean'} something to RL; bc fits one network "
            f"in one process and keeps no checkpoints: drop {'it' if one else 'them'}"
        )
    return config
