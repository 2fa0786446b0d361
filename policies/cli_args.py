"""Shared pieces of the policies commands' argument handling: one-line usage errors, checked number
types, and a clean end when stdout's reader goes away (``robokit info --json | head``)."""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import NoReturn

EXIT_USAGE = 2
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell shows for a command whose reader stopped reading


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit code 2), naming ``--help``."""

    def error(self, message: str) -> NoReturn:
        usage_error(self.prog, f"{message} (see `{self.prog} --help`)")


def usage_error(prog: str, message: str) -> NoReturn:
    """Print ``prog: message`` as one line on stderr and exit with code 2."""
    print(f"{prog}: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def int_in(lo: int, hi: int | None = None):
    """An argparse type: an integer in [lo, hi] (hi None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(
                f"{value} is out of range: want {lo} or more"
                if hi is None
                else f"{value} is not in [{lo}, {hi}]"
            )
        return value

    parse.__name__ = "integer"
    return parse


def fraction(text: str) -> float:
    """An argparse type: a finite number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1]")
    return value


def stdout_closed() -> int:
    """Call on BrokenPipeError from stdout: points stdout at /dev/null so the interpreter's final flush
    does not complain, and returns the exit code (141, as if killed by SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass
    return EXIT_PIPE_CLOSED
