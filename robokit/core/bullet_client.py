"""The one place robokit imports PyBullet, and what every owner of a PyBullet client needs.

``from robokit.core.bullet_client import p`` is ``import pybullet as p`` without the build banner
("pybullet build time: ...") that PyBullet's C extension prints on import: it would otherwise
appear in the output of every command. ``disconnect_when_collected`` registers a finalizer so a client
is disconnected even when its owner is dropped without ``close()``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import weakref
from types import ModuleType


def _flush_c_stdio() -> None:
    """Flush the C library's stdio buffers (PyBullet's printf output sits there when stdout is a pipe)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


def _import_quietly() -> ModuleType:
    """``import pybullet`` with file descriptors 1 and 2 pointed at /dev/null for the duration of the
    import (the banner goes to stderr in current wheels, to stdout in older ones).

    Anything written to stdout or stderr by another thread during the import (a few ms, once per process)
    is lost too. Where the descriptors cannot be redirected (closed), the import is plain."""
    if "pybullet" in sys.modules:
        return sys.modules["pybullet"]
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    _flush_c_stdio()
    saved: dict[int, int] = {}
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                saved[fd] = os.dup(fd)
                os.dup2(devnull, fd)
        import pybullet
    finally:
        _flush_c_stdio()  # a buffered banner goes to /dev/null now, not to the real stdout later
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)
    return pybullet


p = _import_quietly()


def disconnect(client: int) -> None:
    """Disconnect a PyBullet client id; one already disconnected is fine."""
    if client >= 0:
        with contextlib.suppress(p.error):
            p.disconnect(physicsClientId=client)


def disconnect_when_collected(owner: object, client: int) -> weakref.finalize:
    """A finalizer that disconnects ``client`` when ``owner`` is garbage-collected (or at interpreter
    exit). Call it from ``owner.close()``: it runs at most once, so close() stays idempotent."""
    return weakref.finalize(owner, disconnect, client)
