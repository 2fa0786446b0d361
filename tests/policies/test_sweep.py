"""Sweeps on this machine (issue 15): a real 2-trial sweep writes a best config that ``robokit train
--config`` trains with; a crashed or killed trial is recorded as failed with its error and the sweep goes
on; an interrupted sweep resumes, retrying the interrupted trial's settings; a study file that is not
this sweep's is refused."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from robokit.cli import main as robokit_main
from robokit.policies.config_file import read_config_file
from robokit.policies.search_space import SEARCH_SPACE, settings_from_params, suggest
from robokit.policies.sweep import STUDY_FILE, STUDY_NAME, SweepError, SweepInterrupted, run_sweep
from robokit.policies.sweep_trial import LocalBackend, objective
from tests.policies import sweep_helpers

ENV_ID = "robokit/ServoArmReach-v0"
TINY = {"steps": 200, "eval_every": 100, "eval_episodes": 2}


def _study(out: Path) -> optuna.Study:
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(out / STUDY_FILE))
    )
    return optuna.load_study(study_name=STUDY_NAME, storage=storage)


def test_the_objective_is_the_mean_success_over_the_schedule() -> None:
    rows = [{"steps": 200, "success_rate": 1.0}, {"steps": 100, "success_rate": 0.5}]
    assert objective(rows, 400, 100) == pytest.approx((0.5 + 1.0 + 1.0 + 1.0) / 4)  # stopped early: solved
    assert objective(rows, 200, 100) == pytest.approx(0.75)
    assert objective([], 200, 100) == 0.0


@pytest.mark.parametrize("algo", sorted(SEARCH_SPACE))
def test_every_searched_setting_is_a_config_file_setting(algo: str, tmp_path: Path) -> None:
    from robokit.policies.config_file import check_value

    trial = optuna.create_study().ask()
    settings = settings_from_params(suggest(trial, algo))
    for name, value in settings.items():
        assert check_value(name, value) == value
    assert len(settings["net_arch"]) in (2, 3)


def test_a_local_sweep_prints_and_writes_a_best_config_that_train_takes(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "sweep"
    argv = ["sweep", ENV_ID, "--out", str(out), "--trials", "2"]
    argv += ["--steps", "200", "--eval-every", "100", "--eval-episodes", "2"]
    assert robokit_main(argv) == 0
    printed = capsys.readouterr().out
    assert "trials: 2 complete" in printed and f"config: {out / 'best.yaml'}" in printed
    trials = _study(out).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert all(len(t.user_attrs["rows"]) == 2 for t in trials)  # evaluations at 100 and 200 steps
    assert all((out / f"trial-{t.number:04d}" / "policy.safetensors").is_file() for t in trials)
    best = read_config_file(out / "best.yaml")
    best_trial = max(trials, key=lambda t: t.value)
    assert best["learning_rate"] == best_trial.params["learning_rate"]
    run = tmp_path / "run"
    argv = ["train", ENV_ID, "--config", str(out / "best.yaml"), "--out", str(run), "--steps", "100"]
    assert robokit_main([*argv, "--no-progress"]) == 0
    import yaml

    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["net_arch"] == best["net_arch"] and saved["gamma"] == best["gamma"] and saved["steps"] == 100


def test_a_crashed_or_killed_trial_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    lines: list[str] = []
    backend = LocalBackend(trial_fn=sweep_helpers.crashing_trial)
    result = run_sweep(ENV_ID, tmp_path, 3, overrides=TINY, backend=backend, echo=lines.append)
    trials = _study(tmp_path).get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "FAIL", "COMPLETE"]
    assert trials[0].user_attrs["error"] == "RuntimeError: boom in trial 0"
    assert "died (killed by SIGKILL)" in trials[1].user_attrs["error"]
    assert result.trials == {"fail": 2, "complete": 1} and result.best_file.is_file()
    assert any(line.startswith("trial 0 failed: RuntimeError: boom in trial 0") for line in lines)


class _InterruptAfterFirst(LocalBackend):
    """Ctrl-C in the driver's loop once the first trial has ended (as SIGINT would raise it there)."""

    def wait(self, decide, timeout_s: float = 1.0):
        ended = super().wait(decide, timeout_s)
        if ended or getattr(self, "_armed", False):
            self._armed = True
            if not ended:
                raise KeyboardInterrupt
        return ended


def test_an_interrupted_sweep_resumes_and_retries_the_interrupted_settings(tmp_path: Path) -> None:
    backend = _InterruptAfterFirst(jobs=2, trial_fn=sweep_helpers.slow_second_trial)
    with pytest.raises(SweepInterrupted):
        run_sweep(ENV_ID, tmp_path, 3, overrides=TINY, backend=backend, echo=lambda s: None)
    assert not backend.running  # the running trial's process was ended
    first = _study(tmp_path).get_trials()
    states = [t.state.name for t in first]
    assert states == ["COMPLETE", "FAIL", "FAIL", "WAITING", "WAITING"]  # 1 and 2 were running: queued again
    assert all(t.user_attrs["interrupted"] for t in first[1:3])
    assert first[1].user_attrs["error"] == "interrupted (Ctrl-C)"
    result = run_sweep(
        ENV_ID, tmp_path, 3, overrides=TINY, backend=LocalBackend(trial_fn=sweep_helpers.steady_trial),
        echo=lambda s: None,
    )  # fmt: skip
    trials = _study(tmp_path).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "FAIL", "COMPLETE", "COMPLETE"]
    retried = sorted(t.params["learning_rate"] for t in trials[3:])
    assert retried == sorted(t.params["learning_rate"] for t in first[1:3])  # the interrupted ones, first
    assert result.trials["complete"] == 3


def test_a_study_of_another_sweep_or_a_damaged_file_is_refused(tmp_path: Path) -> None:
    quick = LocalBackend(trial_fn=sweep_helpers.quick_trial)
    run_sweep(ENV_ID, tmp_path, 1, overrides=TINY, backend=quick, echo=lambda s: None)
    with pytest.raises(SweepError, match="holds another sweep"):
        run_sweep(ENV_ID, tmp_path, 2, overrides={**TINY, "steps": 400}, backend=quick, echo=lambda s: None)
    with pytest.raises(SweepError, match="has no search space"):
        run_sweep(ENV_ID, tmp_path / "bc", 1, algo="bc", backend=quick, echo=lambda s: None)
    (tmp_path / "orphans" / "trial-0000").mkdir(parents=True)
    with pytest.raises(SweepError, match="holds trial folders but no study.journal"):
        run_sweep(ENV_ID, tmp_path / "orphans", 1, overrides=TINY, backend=quick, echo=lambda s: None)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / STUDY_FILE).write_bytes(b"\x00not json\n{]\n")
    with pytest.raises(SweepError, match="is damaged .line 1 is not a whole journal record"):
        run_sweep(ENV_ID, tmp_path / "bad", 1, overrides=TINY, backend=quick, echo=lambda s: None)
    # found by attack: a journal cut mid-line (a crash, a full disk) got records appended after the cut
    (tmp_path / "cut").mkdir()
    whole = (tmp_path / STUDY_FILE).read_bytes()
    (tmp_path / "cut" / STUDY_FILE).write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SweepError, match="is damaged .line [0-9]+ is not a whole journal record"):
        run_sweep(ENV_ID, tmp_path / "cut", 1, overrides=TINY, backend=quick, echo=lambda s: None)
    assert (tmp_path / "cut" / STUDY_FILE).read_bytes() == whole[: len(whole) // 2]  # left as it was


def test_a_trial_below_the_median_is_pruned_at_its_first_evaluation(tmp_path: Path) -> None:
    lines: list[str] = []
    backend = LocalBackend(trial_fn=sweep_helpers.weak_third_trial)
    result = run_sweep(ENV_ID, tmp_path, 3, overrides=TINY, backend=backend, echo=lines.append)
    trials = _study(tmp_path).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert trials[2].intermediate_values == {100: 0.1}  # stopped after its first report
    assert lines[-1].startswith("trial 2 pruned at 100 steps") and result.trials["pruned"] == 1


def test_a_pruned_training_run_stops_at_that_evaluation(tmp_path: Path) -> None:
    from robokit.policies.sweep import base_settings
    from robokit.policies.sweep_trial import TrialSpec, run_trial

    settings = {
        **base_settings(ENV_ID, None, steps=600, eval_every=100, eval_episodes=2),
        "out": str(tmp_path),
    }
    asked: list[int] = []
    result = run_trial(TrialSpec(0, settings), lambda step, rate: asked.append(step) or True)
    assert asked == [100] and result["pruned_at"] == 100
    assert [r["steps"] for r in result["rows"]] in ([100], [100, 200])  # the evaluation under way, at most
    assert (tmp_path / "policy.safetensors").is_file()


@pytest.mark.parametrize("params", [{"gamma": 7.0}, {"learning_rate": "fast"}, {"batch_size": -3}])
def test_a_queued_trial_with_settings_out_of_bounds_is_recorded_and_the_sweep_goes_on(
    tmp_path: Path, params: dict
) -> None:
    steady = LocalBackend(trial_fn=sweep_helpers.steady_trial)
    run_sweep(ENV_ID, tmp_path, 1, overrides=TINY, backend=steady, echo=lambda s: None)
    _study(tmp_path).enqueue_trial(params)  # as an edited or foreign study file could hold
    result = run_sweep(ENV_ID, tmp_path, 3, overrides=TINY, backend=steady, echo=lambda s: None)
    trials = _study(tmp_path).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE"]
    assert trials[1].user_attrs["error"].startswith("settings refused: ")
    assert result.trials == {"complete": 2, "fail": 1}


def test_two_sweep_processes_share_one_study(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "tests.policies.sweep_helpers", str(tmp_path), "6"]
    procs = [subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    trials = _study(tmp_path).get_trials()
    assert 6 <= len(trials) <= 7 and all(t.state.name == "COMPLETE" for t in trials)  # one extra at most
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    ran = [[line.split(":")[0] for line in out.splitlines() if line.startswith("trial ")] for out in outs]
    assert all(ran) and not set(ran[0]) & set(ran[1])  # both worked, on different trials
