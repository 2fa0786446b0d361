"""Periodic evaluation in a process of its own, so training does not wait for it.

Training is one thread (torch with one thread, the env stepped in between); on a 2-core machine the
second core would idle while the periodic evaluation's 50 episodes (2500 env steps for Reach) held
training up. Here a forked worker owns an eval env and runs an evaluation while training goes on: the
training process hands it the actor as numpy arrays (``Policy.numpy_actor``; no torch in the worker)
and picks the row up on a later step. One evaluation runs at a time; a second one due before the first
has answered waits for it (that wait is not training time).

    evaluator = BackgroundEval("robokit/So101Reach-v0")
    evaluator.submit(actor, first_seed=10**6, episodes=50, steps=500, train_time_s=3.2)
    ... train ...
    row = evaluator.poll()          # None until it is done; then the evals.jsonl row
    evaluator.close()
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

from robokit.policies.eval_pool import (
    EvalWorkerError,
    Worker,
    receive,
    stop_workers,
    worker_died,
    worker_main,
)
from robokit.policies.numpy_actor import NumpyActor

__all__ = ["BackgroundEval", "EvalWorkerError"]

_ENV: Any = None


def _make_env(env_id: str) -> None:
    global _ENV
    import gymnasium as gym

    import robokit.envs  # noqa: F401  (registers the ids)

    _ENV = gym.make(env_id)


def _evaluate(task: tuple[NumpyActor, int, int, int, float]) -> dict[str, Any] | None:
    from robokit.policies.periodic_eval import evaluation_row

    actor, first_seed, episodes, steps, train_time_s = task
    return evaluation_row(_ENV, actor, first_seed, episodes, steps, train_time_s)


class BackgroundEval:
    """One worker process (forked where the platform can, else spawned) with an ``env_id`` env.

    ``submit`` hands over an evaluation, ``poll`` returns its row once done (None before), ``wait``
    blocks for it. Raises EvalWorkerError (naming the evaluation) when the worker fails or dies."""

    def __init__(self, env_id: str) -> None:
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=worker_main, args=(child, _make_env, (env_id,), _evaluate, parent), daemon=True
        )
        proc.start()
        child.close()
        self._worker = Worker(proc, parent)

    @property
    def busy(self) -> bool:
        """An evaluation was submitted and its row not yet taken."""
        return self._worker.task is not None

    def submit(
        self, actor: NumpyActor, first_seed: int, episodes: int, steps: int, train_time_s: float
    ) -> None:
        """Start evaluating ``actor`` on ``episodes`` seeded episodes (the row records ``steps`` and
        ``train_time_s``); raises RuntimeError while another is running."""
        if self.busy:
            raise RuntimeError("an evaluation is already running: wait() for it first")
        self._worker.task = f"the evaluation at {steps} steps"
        try:
            self._worker.conn.send((actor, first_seed, episodes, steps, train_time_s))
        except OSError:
            self._died()

    def poll(self) -> dict[str, Any] | None:
        """The row of the running evaluation if it is done, else None (also when none is running)."""
        if not self.busy:
            return None
        if self._worker.conn.poll():
            return self._receive()
        if not self._worker.proc.is_alive():
            self._died()
        return None

    def wait(self) -> dict[str, Any] | None:
        """Block until the running evaluation is done; its row (None when none is running)."""
        if not self.busy:
            return None
        from multiprocessing.connection import wait

        wait([self._worker.conn, self._worker.proc.sentinel])
        if self._worker.conn.poll():
            return self._receive()
        self._died()
        return None

    def close(self) -> None:
        """Stop the worker (an evaluation under way is dropped); never raises."""
        stop_workers([self._worker])

    def _receive(self) -> dict[str, Any]:
        try:
            return receive(self._worker, str)
        finally:
            self._worker.task = None

    def _died(self) -> None:
        raise worker_died(self._worker, str)
