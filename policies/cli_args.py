"""Shared pieces of the policies commands' argument handling: one-line usage errors, checked number
types, and a clean end when stdout's reader goes away (``robokit info --json | head``)."""

from __future__ import annotations

import argparse
import math

from robokit.cli_parser import EXIT_PIPE_CLOSED, EXIT_USAGE, OneLineParser, stdout_closed, usage_error

__all__ = [
    "EXIT_PIPE_CLOSED",
    "EXIT_USAGE",
    "OneLineParser",
    "stdout_closed",
    "usage_error",
]  # re-exported: the one parser lives in robokit.cli_parser
SEED_MAX = 2**32 - 1 - 256  # numpy seeds are < 2**32; training env i uses seed + i


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


def resolve_device(text: str) -> str:
    """A torch device this machine has, as a string: ``cpu``, ``cuda``, ``cuda:1``, ``mps``; ``auto`` gives
    ``cuda`` when available, else ``cpu``. Raises ValueError for a malformed name or a device this torch
    cannot use (SB3 would silently fall back to the CPU and the run would record the wrong device)."""
    import torch

    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(
            f"--device {text!r} is not a torch device (cpu, cuda, cuda:N, mps or auto)"
        ) from None
    if dev.type == "cpu":
        return "cpu"
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise ValueError(
                f"--device {text}: this torch ({torch.__version__}, {build}) sees no CUDA device; use --device cpu"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"--device {text}: only {torch.cuda.device_count()} CUDA device(s) here")
        return str(dev)
    if dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(
                f"--device {text}: this torch has no usable MPS (Apple GPU) backend; use --device cpu"
            )
        return "mps"
    raise ValueError(f"--device {text}: robokit trains on cpu, cuda, cuda:N, mps or auto")
