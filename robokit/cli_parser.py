"""One argparse parser class for every robokit command: a usage error is one line on stderr and exit
code 2 (``--help`` stays full). Imports only the standard library, so ``robokit --help`` stays instant."""

from __future__ import annotations

import argparse
import os
import sys
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
