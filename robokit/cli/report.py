"""``robokit report DIR``: one HTML page for an evaluation, a training run, a deploy log or a sweep folder
(``robokit.policies.report.build_report``)."""

from __future__ import annotations

import argparse
import sys

from robokit.cli.parser import EXIT_USAGE, OneLineParser, print_out
from robokit.core.run_files import REPORT_FILE

PROG = "robokit report"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
        description="Build DIR/report.html, a page that opens offline in a browser and keeps working when "
        "the folder is copied (relative links to its videos and images; CSS and JS inline). The folder's "
        "kind comes from its files: eval.json (an evaluation), evals.jsonl or config.yaml (a training "
        "run: curves from evals.jsonl and the TensorBoard scalars), ticks.jsonl or summary.json (a deploy "
        "log: commanded vs reported joints, loop timing, reach errors, link counters), study.journal or "
        "best.yaml (a sweep). Damaged files are named on the page. Prints the page's path.",
        epilog="examples:\n  robokit report runs/reach\n  robokit report runs/demo/deploy --out /tmp/deploy.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", help="an eval, run, deploy-log or sweep folder")
    p.add_argument("--out", help="the page's file (default: DIR/report.html); plots it draws go beside it")
    return p


def _usage(message: str) -> int:
    print(f"{PROG}: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from pathlib import Path

    from robokit.paths import PathError, check_output_file
    from robokit.policies.report import ReportError, build_report, folder_kind

    try:
        folder_kind(args.dir)
        check_output_file(Path(args.dir) / REPORT_FILE if args.out is None else args.out, "--out")
        page = build_report(args.dir, args.out)
    except (ReportError, PathError) as exc:
        return _usage(str(exc))
    except OSError as exc:
        print(f"{PROG}: cannot write the page: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print_out(f"{page}\n")
    return 0
