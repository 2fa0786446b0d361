"""A small process pool for evaluation that notices a worker dying and names the episode it was running.

``multiprocessing.Pool`` replaces a killed worker and waits forever for the lost task's result. Here
each worker has its own pipe and the parent waits on the pipes and on the processes' sentinels
together: a worker that ends without answering (SIGKILL, the OOM killer, a crash in native code)
raises ``EvalWorkerError`` naming the task it held, and every other worker is stopped.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any


class EvalWorkerError(RuntimeError):
    """A worker process died, failed to start, or raised while running a task."""


def worker_main(
    conn: Connection, init: Callable[..., None], init_args: tuple, fn: Callable, parent_end: Any = None
) -> None:
    """Worker loop: init once, then answer each task with ("ok", result) or ("error", text).
    ``parent_end``: the parent's end of the pipe, which a forked worker inherits; closed first, so the
    worker sees EOF and exits when the parent dies (SIGKILL included) instead of waiting forever."""
    if parent_end is not None:
        parent_end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    try:
        init(*init_args)
    except BaseException as exc:  # noqa: BLE001  (reported to the parent, which raises)
        conn.send(("init_error", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent went away
            return
        if task is None:
            return
        try:
            result = fn(task)
        except Exception as exc:  # noqa: BLE001
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            conn.send(("error", last))
            continue
        conn.send(("ok", result))


@dataclass
class Worker:
    proc: Any  # multiprocessing.Process
    conn: Connection
    task: Any = None


def describe_exit(exitcode: int | None) -> str:
    """'killed by SIGKILL' / 'exit code 3' for a process's exit code."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def run_in_workers(
    tasks: Iterable[Any],
    workers: int,
    init: Callable[..., None],
    init_args: tuple,
    fn: Callable[[Any], Any],
    describe: Callable[[Any], str] = repr,
    start_method: str | None = None,
) -> Iterator[Any]:
    """Run ``fn(task)`` for every task in ``workers`` processes (each runs ``init(*init_args)`` once);
    yields results in completion order. ``describe(task)`` names a task in errors.

    Raises EvalWorkerError when a worker fails to start, raises in ``fn``, or dies; the remaining
    workers are terminated before it propagates (also on KeyboardInterrupt or when the caller stops
    iterating)."""
    if start_method is None:
        start_method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(start_method)
    pending = deque(tasks)
    pool: list[Worker] = []
    try:
        for _ in range(max(1, min(workers, len(pending)))):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child, init, init_args, fn, parent), daemon=True)
            proc.start()
            child.close()
            pool.append(Worker(proc, parent))
        for w in pool:
            _assign(w, pending)
        while any(w.task is not None for w in pool):
            busy = [w for w in pool if w.task is not None]
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy])
            for w in busy:
                if w.conn in ready or (w.proc.sentinel in ready and w.conn.poll()):
                    yield receive(w, describe)
                    _assign(w, pending)
                elif w.proc.sentinel in ready:
                    raise worker_died(w, describe)
    finally:
        stop_workers(pool)


def _assign(w: Worker, pending: deque) -> None:
    w.task = pending.popleft() if pending else None
    with contextlib.suppress(OSError):  # a worker that is gone: its sentinel reports it on the next wait
        w.conn.send(w.task)


def worker_died(w: Worker, describe: Callable[[Any], str]) -> EvalWorkerError:
    """The error for worker ``w`` that ended without answering its task (reaped first)."""
    w.proc.join(1.0)
    return EvalWorkerError(
        f"worker process {w.proc.pid} died ({describe_exit(w.proc.exitcode)}) while running {describe(w.task)}"
    )


def receive(w: Worker, describe: Callable[[Any], str]) -> Any:
    """Worker ``w``'s answer to its task; raises EvalWorkerError when it died, could not start or
    raised (naming the task with ``describe``)."""
    try:
        kind, payload = w.conn.recv()
    except (EOFError, OSError):
        raise worker_died(w, describe) from None
    if kind == "init_error":
        raise EvalWorkerError(f"a worker process could not start: {payload}")
    if kind == "error":
        raise EvalWorkerError(f"{describe(w.task)} failed in worker process {w.proc.pid}: {payload}")
    return payload


def stop_workers(pool: list[Worker]) -> None:
    """Terminate and reap every worker (SIGTERM, then SIGKILL after a second)."""
    for w in pool:
        if w.proc.is_alive():
            w.proc.terminate()
    for w in pool:
        w.proc.join(1.0)
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join(1.0)
        w.conn.close()
