"""Training's periodic evaluation in a background process (policies/background_eval.py): the same row as
evaluating in process, a dead worker named, and an early stop that exports the evaluated snapshot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import pytest
import torch

import robokit.envs  # noqa: F401
from robokit.policies import default_config, load_policy, scripted_policy, train
from robokit.policies.background_eval import BackgroundEval, EvalWorkerError
from robokit.policies.checkpoints import latest_checkpoint
from robokit.policies.periodic_eval import evaluation_row
from robokit.policies.policy_file import Policy
from tests.policies.processes import alive, children

ENV_ID = "robokit/ServoArmReach-v0"


def _untrained() -> Policy:
    spec = dict(scripted_policy(ENV_ID).spec)
    spec.update(algo="untrained", network={"hidden": [32, 32], "activation": "relu", "output": "tanh"})
    torch.manual_seed(3)
    return Policy(spec)


def test_the_background_row_is_the_in_process_row():
    policy = _untrained()
    evaluator = BackgroundEval(ENV_ID)
    try:
        assert evaluator.poll() is None and not evaluator.busy
        evaluator.submit(policy.numpy_actor(), 1000, 4, 1234, 5.5)
        with pytest.raises(RuntimeError, match="already running"):
            evaluator.submit(policy.numpy_actor(), 1000, 4, 1234, 5.5)
        row = evaluator.wait()
    finally:
        evaluator.close()
    env = gym.make(ENV_ID)
    want = evaluation_row(env, policy, 1000, 4, 1234, 5.5)
    env.close()
    assert row["steps"] == 1234 and row["train_time_s"] == 5.5
    for key in ("success_rate", "mean_return", "mean_length"):
        assert row[key] == want[key]
    assert row["mean_final_distance_m"] == pytest.approx(want["mean_final_distance_m"], abs=1e-6)


def test_a_worker_killed_mid_evaluation_is_named():
    evaluator = BackgroundEval(ENV_ID)
    try:
        evaluator.submit(_untrained().numpy_actor(), 1000, 500, 777, 1.0)
        time.sleep(1.0)
        os.kill(evaluator._worker.proc.pid, signal.SIGKILL)
        with pytest.raises(
            EvalWorkerError, match=r"died \(killed by SIGKILL\) while running the evaluation at 777"
        ):
            for _ in range(100):
                evaluator.poll()
                time.sleep(0.05)
    finally:
        evaluator.close()


@pytest.mark.slow  # the default suite stays under 10 minutes; `pytest -m slow` runs it
def test_an_early_stop_exports_the_snapshot_that_was_evaluated(tmp_path: Path):
    run = tmp_path / "run"
    config = default_config(
        ENV_ID, out=str(run), steps=6000, eval_every=2000, eval_episodes=30, progress=False
    )
    # test_training's short run: with this seed the actor at 2000 steps reaches >= 15% of 30 episodes
    config.learning_starts, config.terminate_on_success, config.action_change_penalty = 100, True, 0.0
    config.stop_success_rate, config.stop_patience = 0.05, 1
    train(config)
    rows = [json.loads(line) for line in (run / "evals.jsonl").read_text().splitlines()]
    assert [r["steps"] for r in rows] == [2000] and rows[0]["success_rate"] >= 0.05
    trained_on = json.loads((latest_checkpoint(run) / "state.json").read_text())["steps"]
    assert 2000 < trained_on < 4000  # training went on while the snapshot at 2000 steps was evaluated
    assert load_policy(run / "policy.safetensors").spec["training_steps"] == 2000


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker through /proc")
def test_the_worker_exits_when_training_is_killed():
    code = (
        "from robokit.policies.background_eval import BackgroundEval; import time; "
        f"b = BackgroundEval({ENV_ID!r}); print('up', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "up"
    workers = children(proc.pid)
    assert len(workers) == 1
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while alive(workers[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(workers[0])  # it used to wait on the pipe forever, reparented to init


@pytest.mark.slow  # the default suite stays under 10 minutes; `pytest -m slow` runs it
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker through /proc")
def test_a_dead_evaluation_process_ends_training_with_one_line_and_a_checkpoint(tmp_path: Path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "robokit", "train", ENV_ID, "--out", str(run), "--steps", "20000",
           "--eval-every", "300", "--eval-episodes", "20", "--no-stop", "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "evals.jsonl").is_file():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        worker = children(proc.pid)
        assert len(worker) == 1
        os.kill(worker[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err[-2000:]
    assert "Traceback" not in err and "killed by SIGKILL" in err and "continue with --resume" in err
    assert latest_checkpoint(run) is not None
