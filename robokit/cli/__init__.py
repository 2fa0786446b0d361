"""The ``robokit`` command: one module per subcommand in this package, each a thin layer over a library
function. A subcommand's module is imported only when it runs, so ``robokit --help`` stays instant."""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from robokit.cli.parser import OneLineParser, stdout_closed

# name -> (module with ``main(argv) -> int``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("robokit.cli.demo", "train, evaluate, film and deploy a policy end to end (Reach; --task push)"),
    "envs": ("robokit.cli.envs", "list the registered environments"),
    "rollout": ("robokit.cli.rollout", "run an env with random (or zero) actions, save a PNG frame"),
    "train": ("robokit.cli.train", "train a policy (SB3) into a run folder"),
    "eval": ("robokit.cli.eval", "evaluate a policy file: success rate, videos, plots"),
    "sweep": ("robokit.cli.sweep", "hyperparameter sweep with Optuna, locally or on Ray (the scale extra)"),
    "record": ("robokit.cli.record", "record an expert's episodes as a LeRobotDataset v3.0"),
    "replay": ("robokit.cli.replay", "replay a recorded episode in sim and check its observations"),
    "info": ("robokit.cli.info", "print a policy file's spec"),
    "report": ("robokit.cli.report", "an HTML page for an eval, training run, deploy log or sweep folder"),
    "emulate": ("robokit.cli.emulate", "run the arm firmware in simavr on a pseudo-terminal"),
    "deploy": ("robokit.cli.deploy", "drive an arm (or a dry-run SimArm) with a policy file"),
    "arm": ("robokit.cli.arm", "manual arm control and calibration over serial"),
    "teleop": ("robokit.cli.teleop", "a leader arm drives a follower (servo bus); --record a dataset"),
}
# developer tools, left out of `robokit --help` (docs/protocol.md names them)
DEV_COMMANDS: dict[str, tuple[str, str]] = {
    "dev": ("robokit.cli.dev", "developer tools: regenerate the firmware header and the protocol vectors"),
}


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="robokit",
        description="Robot arms with learned policies: train in PyBullet, deploy over serial.",
        epilog="Run `robokit COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, text) in COMMANDS.items():
        sub.add_parser(name, help=text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``robokit ARGV``; returns the exit code (2: a usage error, 141: stdout's reader left)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    known = {**COMMANDS, **DEV_COMMANDS}
    if not argv or argv[0] not in known:
        parser = _parser()
        args = parser.parse_args(argv)
        if args.version:
            from importlib.metadata import version

            print(f"robokit {version('robokit')}")
            return 0
        parser.print_help()
        return 0 if not argv else 2
    module_name, _ = known[argv[0]]
    formatter, warnings.formatwarning = warnings.formatwarning, _one_line_warning
    try:
        return _run(module_name, argv)
    finally:
        warnings.formatwarning = formatter


def _run(module_name: str, argv: list[str]) -> int:
    """Import the subcommand's module and run its ``main``."""
    try:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("robokit."):
                print(
                    f"robokit {argv[0]}: not available in this build ({exc.name} is missing)", file=sys.stderr
                )
                return 2
            raise
        return int(module.main(argv[1:]) or 0)
    except BrokenPipeError:  # `robokit info --json | head`: the reader left; end quietly, as cat does
        return stdout_closed()
    except KeyboardInterrupt:  # a Ctrl-C the command does not handle (e.g. while torch loads): one line
        print(f"\nrobokit {argv[0]}: interrupted", file=sys.stderr)
        return 130


def _one_line_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ANN001
    """A warning on the command line: one line in robokit's words, not Python's file:line and source."""
    return f"robokit: warning: {' '.join(str(message).split())}\n"
