"""The ``robokit`` command. Each subcommand lives in its package and is imported only when run,
so ``robokit --help`` stays instant."""

from __future__ import annotations

import argparse
import importlib
import sys

from robokit.cli_parser import OneLineParser

# name -> (module with ``main(argv) -> int``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("robokit.demo", "train, evaluate, film and deploy a ServoArmReach policy end to end"),
    "envs": ("robokit.envs.cli", "list the registered environments"),
    "rollout": ("robokit.envs.rollout", "run an env with random (or zero) actions, save a PNG frame"),
    "train": ("robokit.policies.cli_train", "train a policy (SB3) into a run folder"),
    "eval": ("robokit.policies.cli_eval", "evaluate a policy file: success rate, videos, plots"),
    "info": ("robokit.policies.cli_info", "print a policy file's spec"),
    "emulate": ("robokit.firmware_bridge.cli_emulate", "run the arm firmware in simavr on a pseudo-terminal"),
    "deploy": ("robokit.firmware_bridge.cli_deploy", "drive an arm (or a dry-run SimArm) with a policy file"),
    "arm": ("robokit.firmware_bridge.cli_arm", "manual arm control and calibration over serial"),
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
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    if not argv or argv[0] not in COMMANDS:
        args = parser.parse_args(argv)
        if args.version:
            from importlib.metadata import version

            print(f"robokit {version('robokit')}")
            return 0
        parser.print_help()
        return 0 if not argv else 2
    module_name, _ = COMMANDS[argv[0]]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(module_name.rsplit(".", 1)[0]):
            print(f"robokit {argv[0]}: not available in this build ({exc.name} is missing)", file=sys.stderr)
            return 2
        raise
    try:
        return int(module.main(argv[1:]) or 0)
    except BrokenPipeError:  # `robokit info --json | head`: the reader left; end quietly, as cat does
        from robokit.cli_parser import stdout_closed

        return stdout_closed()


if __name__ == "__main__":
    sys.exit(main())
