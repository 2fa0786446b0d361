"""One argparse parser class for every robokit command: a usage error is one line on stderr and exit
code 2 (``--help`` stays full). Imports only the standard library, so ``robokit --help`` stays instant."""

from __future__ import annotations

import argparse
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
