"""The torch device a run trains on: ``--device`` resolved against what this machine has."""

from __future__ import annotations


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
