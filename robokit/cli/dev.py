"""``robokit dev``: developer tools, left out of ``robokit --help``.

``robokit dev gen-defaults`` writes firmware/robot_defaults.h from a RobotSpec
(``robokit.firmware_bridge.gen_defaults.render_defaults_header``); ``robokit dev gen-vectors`` writes
docs/protocol_vectors.json (``robokit.firmware_bridge.gen_vectors.build_vectors``). Tests fail while the
checked-in files and the code disagree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robokit.cli.parser import OneLineParser

PROG = "robokit dev"


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Developer tools: regenerate files that are checked in.")
    sub = p.add_subparsers(dest="tool", metavar="TOOL", required=True, parser_class=OneLineParser)
    d = sub.add_parser("gen-defaults", help="write firmware/robot_defaults.h from a RobotSpec")
    d.add_argument("--robot", help="the robot the firmware drives (default: the firmware's own)")
    d.add_argument("--out", type=Path, help="header to write (default: the firmware's robot_defaults.h)")
    v = sub.add_parser("gen-vectors", help="write docs/protocol_vectors.json (the codecs' byte vectors)")
    v.add_argument("--out", type=Path, help="JSON file to write (default: docs/protocol_vectors.json)")
    return p


def main(argv: list[str]) -> int:
    """``robokit dev TOOL``; returns 0, 1 if the file cannot be written, 2 for a usage error or an unknown
    robot."""
    args = _parser().parse_args(argv)
    if args.tool == "gen-defaults":
        from robokit.firmware_bridge.gen_defaults import HEADER_PATH, render_defaults_header

        try:
            text = render_defaults_header() if args.robot is None else render_defaults_header(args.robot)
        except KeyError as exc:
            print(f"{PROG} gen-defaults: {exc.args[0] if exc.args else exc}", file=sys.stderr)
            return 2
        out = args.out or HEADER_PATH
    else:
        import json

        from robokit.firmware_bridge.gen_vectors import DEFAULT_OUT, build_vectors

        out, text = args.out or DEFAULT_OUT, json.dumps(build_vectors(), indent=1) + "\n"
    try:
        out.write_text(text)
    except OSError as exc:
        print(f"{PROG} {args.tool}: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0
