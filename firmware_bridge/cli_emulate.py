"""``robokit emulate``: the real firmware in simavr on a pseudo-terminal, until Ctrl-C."""

from __future__ import annotations

import argparse


def main(argv: list[str]) -> int:
    from robokit.firmware_bridge.emulator import add_emulate_parser, emulate_main

    root = argparse.ArgumentParser(prog="robokit")
    sub = root.add_subparsers(dest="command")
    add_emulate_parser(sub)
    args = root.parse_args(["emulate", *argv])
    return emulate_main(args)
