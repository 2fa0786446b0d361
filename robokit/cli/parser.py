"""What every robokit command shares: one argparse parser class (a usage error is one line on stderr and
exit code 2; ``--help`` stays full), checked number types, and a clean end when stdout's reader goes away
(``robokit info --json | head``). Imports only the standard library, so ``robokit --help`` stays instant."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Callable
from typing import NoReturn

EXIT_USAGE = 2


def usage_error(prog: str, message: str) -> NoReturn:
    """Print ``prog: message`` as one line on stderr (whitespace folded) and exit with code 2."""
    print(f"{prog}: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit code 2), naming ``--help``."""

    def error(self, message: str) -> NoReturn:
        usage_error(self.prog, f"error: {message} (see `{self.prog} --help`)")


EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell shows for a command whose reader stopped reading


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


def print_out(text: str) -> None:
    """Write ``text`` to stdout; a reader that went away (``| head``) ends the output quietly."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):  # no second error when Python flushes at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
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


def float_in(lo: float, hi: float) -> Callable[[str], float]:
    """An argparse type: a finite number in [lo, hi]."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text} is not in [{lo:g}, {hi:g}]")
        return value

    parse.__name__ = "number"
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


def checked(check: Callable, convert: Callable[[str], float] = float) -> Callable[[str], float]:
    """An argparse type: ``convert`` the text, then ``check`` the value (ValueError -> a usage error)."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            kind = "a whole number" if convert is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        try:
            return check(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse
