"""The sweep page, from a sweep folder's files alone (``robokit sweep --out DIR``: DIR/study.journal, an
Optuna JournalStorage log; DIR/best.yaml; DIR/trial-NNNN/): a journal written line by line as Optuna
writes it, and, where Optuna is installed, one Optuna wrote itself, whose replay must match Optuna's own
reading of it."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from robokit.policies.report import build_report, folder_kind
from robokit.policies.report.journal import read_study
from tests.policies.browser import open_page

BASE = {"env_id": "robokit/ServoArmReach-v0", "algo": "td3", "steps": 4000, "seed": 0, "eval_every": 1000}
CATEGORICAL = json.dumps({"name": "CategoricalDistribution", "attributes": {"choices": [64, 128, 256]}})
LOG_FLOAT = json.dumps(
    {"name": "FloatDistribution", "attributes": {"log": True, "step": None, "low": 1e-4, "high": 3e-3}}
)


def _op(code: int, **fields) -> str:
    return json.dumps({"op_code": code, "worker_id": "w-1", **fields})


def write_sweep(folder: Path) -> dict[int, dict]:
    """A sweep folder of four trials as the sweep writes them: complete, pruned at 2000 steps, failed
    with an error, and one still running; returns what each trial should show."""
    folder.mkdir(parents=True)
    lines = [_op(0, study_name="robokit-sweep", directions=[2]), _op(2, study_id=0, user_attr={"base": BASE})]
    expected = {}
    outcomes = [(1, 0.75, [0.5, 1.0]), (2, None, [0.0, 0.1]), (3, None, []), (0, None, [0.2])]
    for number, (state, value, rates) in enumerate(outcomes):
        lines.append(_op(4, study_id=0, datetime_start="2026-12-01T03:00:00.000000"))
        lines.append(_op(8, trial_id=number, user_attr={"run": f"/x/sweep/trial-{number:04d}"}))
        lr = 1e-4 * (3 + number)
        lines.append(
            _op(
                5,
                trial_id=number,
                param_name="learning_rate",
                param_value_internal=lr,
                distribution=LOG_FLOAT,
            )
        )
        lines.append(
            _op(
                5,
                trial_id=number,
                param_name="net_width",
                param_value_internal=number % 3,
                distribution=CATEGORICAL,
            )
        )
        for i, rate in enumerate(rates):
            lines.append(_op(7, trial_id=number, step=1000 * (i + 1), intermediate_value=rate))
        if state == 3:
            lines.append(_op(8, trial_id=number, user_attr={"error": "<b>worker died</b>"}))
        if state:
            values = None if value is None else [value]
            lines.append(
                _op(6, trial_id=number, state=state, values=values, datetime_complete="2026-12-01T03:01:00")
            )
            lines.append(_op(8, trial_id=number, user_attr={"wall_s": 10.0 + number}))
        expected[number] = {
            "lr": lr,
            "width": [64, 128, 256][number % 3],
            "value": value,
            "steps": len(rates),
        }
    lines.append('{"op_code": 5, "trial_id": 99, "param_name": "x"}')  # fits no trial
    (folder / "study.journal").write_text("\n".join(lines) + "\n")
    (folder / "best.yaml").write_text(
        "env_id: robokit/ServoArmReach-v0\nlearning_rate: 0.0003\nnet_arch: [64, 64]\n"
    )
    return expected


def test_the_journal_replays_into_trials_with_their_external_params(tmp_path):
    expected = write_sweep(tmp_path / "sweep")
    lines = [json.loads(x) for x in (tmp_path / "sweep" / "study.journal").read_text().splitlines()]
    study = read_study(lines)
    assert study.name == "robokit-sweep" and study.user_attrs["base"] == BASE and study.skipped == 1
    assert [t.state for t in study.trials] == ["complete", "pruned", "failed", "running"]
    for t in study.trials:
        want = expected[t.number]
        assert t.params == {"learning_rate": want["lr"], "net_width": want["width"]}
        assert t.value == want["value"] and len(t.intermediate) == want["steps"]


def test_a_sweep_folder_gets_a_page_of_its_trials_and_best_settings(tmp_path, driver):
    folder = tmp_path / "sweep"
    expected = write_sweep(folder)
    (folder / "trial-0000").mkdir()
    (folder / "trial-0000" / "config.yaml").write_text("env_id: robokit/ServoArmReach-v0\n")
    build_report(folder / "trial-0000")  # a trial's run page
    assert folder_kind(folder) == "sweep"
    page = build_report(folder)
    html = page.read_text()
    assert "&lt;b&gt;worker died&lt;/b&gt;" in html and "<b>worker died" not in html
    assert html.count('<tr data-success="yes">') == 1 and html.count('<tr data-success="no">') == 1
    assert f">{expected[0]['value']}</td>" in html and "trial-0002" in html
    assert re.search(r"learning_rate</td><td>0.0003</td>", html)  # best.yaml
    assert '<a href="trial-0000/report.html">trial-0000</a>' in html
    assert "1 operation(s) that fit no trial" in html and (folder / "report-sweep.png").is_file()
    urls, severe = open_page(driver, page)
    assert severe == [] and all(u.startswith((folder.resolve().as_uri(), "data:")) for u in urls)


def test_a_journal_optuna_wrote_reads_as_optuna_reads_it(tmp_path):
    optuna = pytest.importorskip("optuna", reason="optuna is in the sweep's extra (pip install optuna)")
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = tmp_path / "study.journal"
    storage = JournalStorage(JournalFileBackend(str(path)))
    study = optuna.create_study(study_name="robokit-sweep", storage=storage, direction="maximize")
    study.set_user_attr("base", BASE)
    study.enqueue_trial({"learning_rate": 1e-3, "net_width": 256})

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True)
        width = trial.suggest_categorical("net_width", [64, 128, 256])
        trial.suggest_int("net_depth", 1, 3)
        trial.report(lr * 100, 1000)
        if trial.number == 2:
            raise optuna.TrialPruned
        if trial.number == 3:
            raise RuntimeError("boom")
        return math.log(lr) + width / 100

    study.optimize(objective, n_trials=5, catch=(RuntimeError,))
    mine = read_study([json.loads(line) for line in path.read_text().splitlines()])
    theirs = study.get_trials()
    assert mine.skipped == 0 and len(mine.trials) == len(theirs) == 5
    for a, b in zip(mine.trials, theirs):
        assert (a.number, a.state, a.value, a.params) == (
            b.number,
            b.state.name.lower().replace("fail", "failed"),
            b.value,
            b.params,
        )
        assert a.intermediate == b.intermediate_values
