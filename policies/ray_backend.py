"""Ray, for sweeps and evaluation beyond one machine (the ``scale`` extra: ``pip install -e '.[scale]'``).

Design: the driver owns the Optuna study (``robokit.policies.sweep``); Ray only runs work. A sweep trial is
one Ray task (``num_cpus=1``, never retried) running ``sweep_trial.run_trial``; its evaluation reports go
to a small actor (``_Mailbox``) that the driver drains, asks the pruner about, and answers, so the study's
storage is only ever opened on the driver's machine. Evaluation episodes run in Ray actors that each hold
one env and the policy, as the local worker processes do, with the same per-episode seeds.

Ray is imported only here, and only when asked for.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from robokit.core.run_files import POLICY_FILE
from robokit.policies.sweep_trial import Decide, Report, TrialFailed, TrialSpec, one_line, run_trial

INSTALL_HINT = "pip install -e '.[scale]'"
# "auto" (a cluster `ray start --head` began on this machine), "local" (a Ray started here, for this
# command), or HOST:PORT / ray://HOST:PORT of a cluster's head
ADDRESS = re.compile(r"^(auto|local|(ray://)?[A-Za-z0-9.\-]{1,253}:[0-9]{1,5})$")


class RayUnavailable(RuntimeError):
    """Ray is not installed, the address is malformed, or the cluster cannot be reached."""


def check_address(address: str) -> str:
    """``address`` if it is ``auto``, ``local`` or HOST:PORT (ray://HOST:PORT); raises RayUnavailable."""
    if not ADDRESS.match(address) or (":" in address and int(address.rsplit(":", 1)[1]) > 65535):
        raise RayUnavailable(f"--ray takes auto, local or HOST:PORT of a cluster's head, not {address!r}")
    return address


REACH_TIMEOUT_S = 5.0


def _check_reachable(address: str) -> None:
    """RayUnavailable unless a gRPC server (what a Ray head's GCS and its client server are) answers at
    HOST:PORT within REACH_TIMEOUT_S: Ray's own client retries an unreachable head, or a port where
    something else listens, for minutes, printing its C++ log lines. A gRPC server answers the HTTP/2
    connection preface with a SETTINGS frame (RFC 9113, 3.4 and 6.5): frame type 4 at byte 3."""
    import socket

    host, port = address.removeprefix("ray://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S) as conn:
            conn.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
            head = b""
            while len(head) < 9:
                chunk = conn.recv(9 - len(head))
                if not chunk:
                    break
                head += chunk
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise RayUnavailable(
            f"cannot connect to Ray at {address}: nothing answers at {host}:{port} ({why}); is the head "
            "running (`ray start --head`)?"
        ) from None
    if len(head) < 9 or head[3] != 4:
        raise RayUnavailable(
            f"cannot connect to Ray at {address}: what answers at {host}:{port} is not a Ray head (no gRPC); "
            "give the address `ray start --head` printed"
        )


def connect(address: str | None, num_cpus: int | None = None) -> Any:
    """The ``ray`` module, connected: to the Ray this process already started (``ray.init`` in a test or
    a notebook), else to ``address`` (``local``: start one here with ``num_cpus``). Raises RayUnavailable."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"Ray is not installed: {INSTALL_HINT}") from None
    if ray.is_initialized():
        return ray
    address = check_address(address or "local")
    if address not in ("auto", "local"):
        _check_reachable(address)
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
    try:
        if address == "local":
            ray.init(num_cpus=num_cpus, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except Exception as exc:  # noqa: BLE001  (Ray raises ConnectionError, RuntimeError, ...)
        raise RayUnavailable(f"cannot connect to Ray at {address}: {one_line(exc)}") from None
    return ray


def cluster_cpus(ray: Any) -> int:
    """Whole CPUs the cluster offers (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


class _Mailbox:
    """An actor between running trials and the driver: reports in, pruning decisions out."""

    def __init__(self) -> None:
        self.reports: list[tuple[int, int, float]] = []
        self.decisions: dict[tuple[int, int], bool] = {}

    def report(self, number: int, step: int, value: float) -> None:
        self.reports.append((number, step, value))

    def take(self) -> list[tuple[int, int, float]]:
        reports, self.reports = self.reports, []
        return reports

    def decide(self, number: int, step: int, prune: bool) -> None:
        self.decisions[(number, step)] = prune

    def decision(self, number: int, step: int) -> bool | None:
        return self.decisions.pop((number, step), None)


def _ray_trial(spec: TrialSpec, mailbox: Any, trial_fn: Callable[[TrialSpec, Report], dict]) -> dict:
    """A trial as a Ray task: ``trial_fn`` with reports through the mailbox (waits for each answer)."""
    import ray

    def report(step: int, value: float) -> bool:
        ray.get(mailbox.report.remote(spec.number, step, value))
        while (answer := ray.get(mailbox.decision.remote(spec.number, step))) is None:
            time.sleep(0.02)
        return answer

    return trial_fn(spec, report)


class RayBackend:
    """Sweep trials as Ray tasks, ``capacity`` at a time (default: the cluster's CPUs)."""

    name = "ray"

    def __init__(
        self, ray: Any, capacity: int | None = None, trial_fn: Callable[[TrialSpec, Report], dict] = run_trial
    ) -> None:
        self.ray, self.trial_fn = ray, trial_fn
        self.capacity = capacity or cluster_cpus(ray)
        self.mailbox = ray.remote(num_cpus=0)(_Mailbox).remote()
        self.task = ray.remote(num_cpus=1, max_retries=0)(_ray_trial)
        self.running: dict[Any, int] = {}  # object ref -> trial number

    def start(self, spec: TrialSpec) -> None:
        self.running[self.task.remote(spec, self.mailbox, self.trial_fn)] = spec.number

    def wait(self, decide: Decide, timeout_s: float = 0.05) -> list[tuple[int, dict | TrialFailed]]:
        """Answer the trials' reports; returns the trials that ended, (number, result or TrialFailed)."""
        ray = self.ray
        ready, _ = ray.wait(list(self.running), num_returns=len(self.running), timeout=timeout_s)
        for number, step, value in ray.get(self.mailbox.take.remote()):
            self.mailbox.decide.remote(number, step, decide(number, step, value))
        ended: list[tuple[int, dict | TrialFailed]] = []
        for ref in ready:
            number = self.running.pop(ref)
            try:
                ended.append((number, ray.get(ref)))
            except ray.exceptions.RayTaskError as exc:  # the trial raised: its own error, not Ray's frame
                cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                ended.append((number, TrialFailed(one_line(cause))))
            except ray.exceptions.RayError as exc:  # the worker died, the node went away, ...
                ended.append((number, TrialFailed(f"Ray worker lost: {one_line(exc)}")))
        return ended

    def cancel_all(self) -> list[int]:
        numbers = list(self.running.values())
        for ref in self.running:
            with contextlib.suppress(Exception):  # a Ray going down with Ctrl-C too: nothing to cancel
                self.ray.cancel(ref, force=True)
        self.running.clear()
        return numbers

    def close(self) -> None:
        self.cancel_all()


class _EvalActor:
    """One env and the policy in a Ray worker, as a local evaluation worker process holds them."""

    def __init__(self, init: Callable[..., None], init_args: tuple, policy_bytes: bytes | None) -> None:
        if policy_bytes is None:
            init(*init_args)
            return
        import tempfile
        from pathlib import Path

        # the policy file travels with the task (no shared folder needed); init loads it whole
        with tempfile.TemporaryDirectory(prefix="robokit-eval-") as tmp:
            path = Path(tmp) / POLICY_FILE
            path.write_bytes(policy_bytes)
            init(str(path), *init_args[1:])

    def run(self, fn: Callable[[Any], Any], task: Any) -> Any:
        return fn(task)


def run_on_ray(
    ray: Any,
    tasks: Iterable[Any],
    workers: int,
    init: Callable[..., None],
    init_args: tuple,
    fn: Callable[[Any], Any],
    describe: Callable[[Any], str] = repr,
    policy_bytes: bytes | None = None,
) -> Iterator[Any]:
    """``fn(task)`` for every task in ``workers`` Ray actors (each runs ``init(*init_args)`` once, with
    ``init_args[0]`` replaced by a copy of ``policy_bytes`` on the worker when given); yields results in
    completion order. Raises EvalWorkerError naming the task when one raises or its actor dies."""
    from robokit.policies.eval_pool import EvalWorkerError

    pending = list(tasks)[::-1]
    actor_cls = ray.remote(num_cpus=1, max_restarts=0)(_EvalActor)
    actors = [
        actor_cls.remote(init, init_args, policy_bytes) for _ in range(max(1, min(workers, len(pending))))
    ]
    busy: dict[Any, tuple[Any, Any]] = {}  # ref -> (actor, task)
    try:
        for actor in actors:
            if pending:
                task = pending.pop()
                busy[actor.run.remote(fn, task)] = (actor, task)
        while busy:
            [ref], _ = ray.wait(list(busy), num_returns=1)
            actor, task = busy.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as exc:
                cause = getattr(exc, "cause", None) or exc
                raise EvalWorkerError(f"{describe(task)} failed on a Ray worker: {one_line(cause)}") from None
            if pending:
                task = pending.pop()
                busy[actor.run.remote(fn, task)] = (actor, task)
            yield result
    finally:
        for actor in actors:
            ray.kill(actor)
