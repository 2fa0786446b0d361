"""`robokit eval` with worker processes: a worker that dies ends the eval with an error naming the
episode (it used to hang forever), and an episode that fails in a worker is reported, not lost."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robokit.policies.eval_pool import EvalWorkerError, run_in_workers
from tests.policies.processes import alive, children


@pytest.mark.slow  # the default suite stays under 10 minutes; `pytest -m slow` runs it
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the workers through /proc")
def test_sigkill_of_a_worker_ends_eval_with_an_error_naming_the_episode(
    scripted_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ev"
    cmd = [sys.executable, "-m", "robokit.cli", "eval", str(scripted_file), "--episodes", "2000"]
    cmd += ["--workers", "2", "--out", str(out), "--no-plot", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(workers := children(proc.pid)) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "the workers never started"
            time.sleep(0.1)
        time.sleep(3.0)  # a few seconds into the eval: both workers are running episodes
        assert proc.poll() is None
        victim, survivor = workers
        os.kill(victim, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)  # used to hang forever here
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.fullmatch(
        rf"robokit eval: worker process {victim} died \(killed by SIGKILL\) while running "
        r"episode \d+ \(seed \d+\); eval\.json not written",
        lines[0],
    ), lines[0]
    assert not (out / "eval.json").exists()
    deadline = time.monotonic() + 10
    while alive(survivor) and time.monotonic() < deadline:  # the other worker is stopped too
        time.sleep(0.1)
    assert not alive(survivor)


def _init(fail: bool) -> None:
    if fail:
        raise RuntimeError("no env here")


def _task(x: int) -> int:
    if x == 3:
        raise ValueError("bad episode")
    if x == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return 10 * x


def test_pool_returns_every_result() -> None:
    got = sorted(run_in_workers([0, 1, 2], 2, _init, (False,), _task))
    assert got == [0, 10, 20]


def test_pool_names_the_task_that_raised() -> None:
    with pytest.raises(
        EvalWorkerError, match=r"task 3 failed in worker process \d+: ValueError: bad episode"
    ):
        list(run_in_workers([0, 1, 2, 3, 4], 2, _init, (False,), _task, describe=lambda t: f"task {t}"))


def test_pool_names_the_task_whose_worker_died() -> None:
    with pytest.raises(EvalWorkerError, match=r"died \(killed by SIGKILL\) while running task 5"):
        list(run_in_workers([5, 0, 1], 2, _init, (False,), _task, describe=lambda t: f"task {t}"))


def test_pool_reports_a_worker_that_cannot_start() -> None:
    with pytest.raises(EvalWorkerError, match="a worker process could not start: RuntimeError: no env here"):
        list(run_in_workers([0, 1], 2, _init, (True,), _task))


def test_an_episode_failing_in_process_is_named_too(
    scripted_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one worker the episodes run in this process; a failing one (injected: a stand-in for an
    env error) is reported like a worker's, naming the episode and seed, and no eval.json is written."""
    from robokit.policies import evaluation

    real = evaluation._run_task

    def flaky(task: tuple) -> tuple:
        if task[0] == 1:
            raise ValueError("boom")
        return real(task)

    monkeypatch.setattr(evaluation, "_run_task", flaky)
    out = tmp_path / "ev"
    with pytest.raises(EvalWorkerError, match=r"^episode 1 \(seed 6\) failed: ValueError: boom$"):
        evaluation.evaluate(
            scripted_file, episodes=3, seed=5, out_dir=out, video=False, workers=1, progress=False
        )
    assert not (out / "eval.json").exists()
