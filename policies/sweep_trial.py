"""One sweep trial (a whole ``robokit train`` run with a trial's settings), and the local way to run
trials: each in its own process, so a crash, a SIGKILL or the OOM killer ends that trial only.

A trial reports every periodic evaluation (evals.jsonl row) through ``report(step, success_rate)``,
which answers whether to stop (Optuna's pruner, asked by the driver that owns the study); the trial's
objective is ``objective(rows, ...)``. The Ray backend (``robokit.policies.ray_backend``) runs the same
``run_trial`` as a Ray task.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

Report = Callable[[int, float], bool]  # (env steps, success rate) -> stop the trial (pruned)
Decide = Callable[[int, int, float], bool]  # (trial number, env steps, success rate) -> prune


class TrialFailed(RuntimeError):
    """A trial raised, or its process (or Ray worker) died; the message says which and why."""


@dataclass(frozen=True)
class TrialSpec:
    """What a trial runs: ``settings`` is a whole TrainConfig as a dict (``out`` the trial's run folder)."""

    number: int
    settings: dict[str, Any] = field(default_factory=dict)


def objective(rows: list[dict[str, Any]], steps: int, eval_every: int) -> float:
    """The trial's score in [0, 1]: the mean success rate over the evaluation schedule (one evaluation
    every ``eval_every`` of ``steps`` env steps), a run that stopped early (solved) counting its last
    rate for the evaluations it skipped. The area under the success curve: fast and high beats slow or
    low, and two solved runs are told apart by how soon they solved. No rows: 0."""
    if not rows:
        return 0.0
    rates = [float(r["success_rate"]) for r in sorted(rows, key=lambda r: r["steps"])]
    scheduled = max(len(rates), math.ceil(steps / eval_every))
    rates += [rates[-1]] * (scheduled - len(rates))
    return sum(rates) / len(rates)


def run_trial(spec: TrialSpec, report: Report) -> dict[str, Any]:
    """Train ``spec.settings`` into its run folder, reporting every evaluation row; returns
    {"value": objective, "rows": evals rows, "pruned_at": env steps or None, "wall_s": seconds}.
    Raises whatever training raises."""
    from robokit.policies.config import TrainConfig
    from robokit.policies.training import train

    config = TrainConfig.from_dict(spec.settings)
    rows: list[dict[str, Any]] = []
    pruned_at: list[int] = []

    def on_eval(row: dict[str, Any]) -> bool:
        rows.append(row)
        if pruned_at:  # the evaluation that was running when the trial was pruned
            return True
        if report(int(row["steps"]), float(row["success_rate"])):
            pruned_at.append(int(row["steps"]))
        return bool(pruned_at)

    t0 = time.perf_counter()
    train(config, on_eval=on_eval)
    return {
        "value": objective(rows, config.steps, config.eval_every),
        "rows": rows,
        "pruned_at": pruned_at[0] if pruned_at else None,
        "wall_s": round(time.perf_counter() - t0, 3),
    }


def one_line(exc: BaseException) -> str:
    """``Type: message`` of an exception, on one line."""
    return " ".join(traceback.format_exception_only(type(exc), exc)[-1].split())


def _local_main(conn: Connection, spec: TrialSpec, trial_fn: Callable[[TrialSpec, Report], dict]) -> None:
    """A trial process: run the trial, reports going to the driver over ``conn`` (which answers each)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it ends this process

    def report(step: int, value: float) -> bool:
        conn.send(("report", step, value))
        return bool(conn.recv())

    try:
        result = trial_fn(spec, report)
    except BaseException as exc:  # noqa: BLE001  (the driver records it as the trial's error)
        conn.send(("error", one_line(exc)))
        return
    conn.send(("done", result))


@dataclass
class _Running:
    spec: TrialSpec
    proc: Any  # multiprocessing.Process
    conn: Connection


class LocalBackend:
    """Trials in processes on this machine, ``jobs`` at a time (fork: the process starts in milliseconds
    and imports training itself)."""

    name = "local"

    def __init__(self, jobs: int = 1, trial_fn: Callable[[TrialSpec, Report], dict] = run_trial) -> None:
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        self.ctx, self.capacity, self.trial_fn = mp.get_context(method), jobs, trial_fn
        self.running: dict[int, _Running] = {}

    def start(self, spec: TrialSpec) -> None:
        parent, child = self.ctx.Pipe()
        # not a daemon: training starts its own evaluation process, which a daemon may not have
        proc = self.ctx.Process(target=_local_main, args=(child, spec, self.trial_fn))
        proc.start()
        child.close()
        self.running[spec.number] = _Running(spec, proc, parent)

    def wait(self, decide: Decide, timeout_s: float = 1.0) -> list[tuple[int, dict | TrialFailed]]:
        """Answer the trials' reports with ``decide``; returns the trials that ended, (number, result
        or TrialFailed), after at most ``timeout_s`` without one."""
        ended: list[tuple[int, dict | TrialFailed]] = []
        handles = [r.conn for r in self.running.values()] + [r.proc.sentinel for r in self.running.values()]
        ready = wait(handles, timeout_s) if handles else []
        for number, r in list(self.running.items()):
            if not (r.conn in ready or r.proc.sentinel in ready):
                continue
            outcome = self._receive(number, r, decide)
            if outcome is not None:
                ended.append((number, outcome))
                self._stop(self.running.pop(number))
        return ended

    def _receive(self, number: int, r: _Running, decide: Decide) -> dict | TrialFailed | None:
        """The trial's next message handled: a report answered (None), or how the trial ended."""
        from robokit.policies.eval_pool import describe_exit

        try:
            if not r.conn.poll():
                raise EOFError
            kind, *payload = r.conn.recv()
        except (EOFError, OSError):
            r.proc.join(2.0)
            return TrialFailed(f"trial process {r.proc.pid} died ({describe_exit(r.proc.exitcode)})")
        if kind == "report":
            r.conn.send(decide(number, int(payload[0]), float(payload[1])))
            return None
        return TrialFailed(payload[0]) if kind == "error" else payload[0]

    def cancel_all(self) -> list[int]:
        """End every running trial (SIGTERM, then SIGKILL); returns their numbers."""
        numbers = list(self.running)
        for number in numbers:
            self._stop(self.running.pop(number))
        return numbers

    @staticmethod
    def _stop(r: _Running) -> None:
        if r.proc.is_alive():
            r.proc.terminate()
        r.proc.join(3.0)
        if r.proc.is_alive():
            r.proc.kill()
            r.proc.join(1.0)
        r.conn.close()

    def close(self) -> None:
        self.cancel_all()
