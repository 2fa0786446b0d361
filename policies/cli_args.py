"""Shared pieces of the policies commands' argument handling: one-line usage errors, checked number
types, and a clean end when stdout's reader goes away (``robokit info --json | head``)."""

from __future__ import annotations

import argparse
import math

from robokit.cli_parser import EXIT_PIPE_CLOSED, EXIT_USAGE, OneLineParser, stdout_closed, usage_error
from robokit.policies.config import SEED_MAX, resolve_device

__all__ = [
    "EXIT_PIPE_CLOSED",
    "EXIT_USAGE",
    "SEED_MAX",
    "OneLineParser",
    "resolve_device",
    "stdout_closed",
    "usage_error",
]  # re-exported: the one parser lives in robokit.cli_parser, the training checks in robokit.policies.config


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
