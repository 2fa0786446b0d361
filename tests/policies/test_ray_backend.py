"""Sweeps and evaluation through a Ray started inside the test (2 CPUs; issue 15): a 2-trial sweep writes
a best config that ``robokit train --config`` takes; a trial that raises or whose worker dies is recorded
as failed and the sweep goes on; ``evaluate(..., ray=...)`` gives the local pool's per-episode results."""

from __future__ import annotations

from pathlib import Path

import pytest
import ray  # the scale extra: .ci/install installs it, so a missing Ray fails here instead of skipping

from robokit.cli import train as cli_train
from robokit.policies.config_file import read_config_file
from robokit.policies.evaluation import evaluate
from robokit.policies.ray_backend import RayBackend, RayUnavailable, check_address
from robokit.policies.sweep import run_sweep
from tests.policies import sweep_helpers
from tests.policies.test_sweep import ENV_ID, TINY, _study


@pytest.fixture(scope="module")
def ray_cluster():
    """A Ray of 2 CPUs in this process; the test helpers' trial functions travel by value."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ray.cloudpickle.register_pickle_by_value(sweep_helpers)
    yield ray
    ray.cloudpickle.unregister_pickle_by_value(sweep_helpers)
    ray.shutdown()


def test_a_sweep_through_ray_prints_and_writes_a_best_config_that_train_takes(
    ray_cluster, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from robokit.cli import main as robokit_main
    from robokit.policies.training import check_config

    argv = ["sweep", ENV_ID, "--out", str(tmp_path), "--trials", "2", "--ray", "local"]  # the Ray above
    assert robokit_main([*argv, "--steps", "200", "--eval-every", "100", "--eval-episodes", "2"]) == 0
    printed = capsys.readouterr().out
    assert "ray, 2 at a time" in printed and "trials: 2 complete" in printed
    assert f"config: {tmp_path / 'best.yaml'}" in printed
    trials = _study(tmp_path).get_trials()
    assert all([r["steps"] for r in t.user_attrs["rows"]] == [100, 200] for t in trials)
    best = read_config_file(tmp_path / "best.yaml")
    assert best["learning_rate"] == max(trials, key=lambda t: t.value).params["learning_rate"]
    args = cli_train.build_parser().parse_args(
        [ENV_ID, "--config", str(tmp_path / "best.yaml"), "--out", "x"]
    )
    assert cli_train.args_problem(args) is None
    config = check_config(cli_train._config(args, None, None))  # what `robokit train` would run
    assert config.net_arch == best["net_arch"] and config.steps == 200


def test_a_crashed_trial_or_a_dead_worker_on_ray_is_recorded_and_the_sweep_goes_on(
    ray_cluster, tmp_path: Path
) -> None:
    backend = RayBackend(ray_cluster, trial_fn=sweep_helpers.crashing_trial)
    result = run_sweep(ENV_ID, tmp_path, 3, overrides=TINY, backend=backend, echo=lambda s: None)
    trials = {t.number: t for t in _study(tmp_path).get_trials()}
    assert trials[0].state.name == "FAIL" and trials[0].user_attrs["error"] == "RuntimeError: boom in trial 0"
    assert trials[1].state.name == "FAIL" and trials[1].user_attrs["error"].startswith("Ray worker lost")
    assert trials[2].state.name == "COMPLETE" and result.best_file.is_file()


def test_pruning_on_ray_goes_through_the_mailbox(ray_cluster, tmp_path: Path) -> None:
    backend = RayBackend(ray_cluster, capacity=1, trial_fn=sweep_helpers.weak_third_trial)
    run_sweep(ENV_ID, tmp_path, 3, overrides=TINY, backend=backend, echo=lambda s: None)
    trials = _study(tmp_path).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert trials[2].intermediate_values == {100: 0.1}


def test_eval_through_ray_gives_the_local_pools_per_episode_results(
    ray_cluster, scripted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import json

    from robokit.cli import main as robokit_main

    local = evaluate(
        scripted_file, 4, tmp_path / "local", video=False, workers=2, seed=40, plot=False, progress=False
    )
    argv = ["eval", str(scripted_file), "--episodes", "4", "--seed", "40", "--workers", "2", "--ray", "local"]
    assert robokit_main([*argv, "--out", str(tmp_path / "ray"), "--no-plot", "--no-progress"]) == 0
    assert f"results: {tmp_path / 'ray'}/eval.json" in capsys.readouterr().out
    remote = json.loads((tmp_path / "ray" / "eval.json").read_text())
    assert [e["seed"] for e in remote["episodes"]] == list(range(40, 44))
    assert remote["episodes"] == local["episodes"]
    assert len({e["return"] for e in local["episodes"]}) > 1  # the seeds made different episodes


@pytest.mark.parametrize("address", ["", "localhost", "host:99999", "a b:1", "http://h:1"])
def test_a_malformed_ray_address_is_refused(address: str) -> None:
    with pytest.raises(RayUnavailable, match="--ray takes auto, local or HOST:PORT"):
        check_address(address)


def test_a_head_nothing_answers_at_is_one_line_not_minutes_of_ray_retries() -> None:
    """Found by attack: `--ray 127.0.0.1:1` hung (Ray's client retries a missing head, logging in C++)."""
    import time

    from robokit.policies.ray_backend import _check_reachable

    t0 = time.monotonic()
    with pytest.raises(RayUnavailable, match=r"cannot connect to Ray at 127.0.0.1:1: nothing answers"):
        _check_reachable("127.0.0.1:1")
    assert time.monotonic() - t0 < 5.0


def test_a_port_where_something_else_listens_is_one_line_not_minutes_of_ray_retries() -> None:
    """Found by attack: an HTTP server at the address passed the TCP check, then Ray retried for minutes."""
    import http.server
    import threading

    from robokit.policies.ray_backend import _check_reachable

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(RayUnavailable, match="is not a Ray head .no gRPC."):
            _check_reachable(f"127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
