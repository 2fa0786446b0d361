"""``build_report`` for a training run (evals.jsonl curves and TensorBoard scalars) and a deploy log
(joints, loop timing, reach errors, link counters): real folders made by a tiny training run and a
dry-run deploy, opened in headless chromium; damaged files are named on the page, not raised."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from robokit.policies.report import build_report, folder_kind
from tests.policies.browser import open_page
from tests.policies.report_fixtures import hostile_eval

ENV = "robokit/ServoArmReach-v0"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A real training run: TD3+HER, 160 steps, an evaluation every 80."""
    from robokit.policies import default_config, train

    out = tmp_path_factory.mktemp("report_run") / "run"
    config = default_config(ENV, out=str(out), steps=160, progress=False)
    config.eval_every, config.eval_episodes, config.learning_starts, config.batch_size = 80, 1, 64, 32
    train(config)
    return out


@pytest.fixture(scope="module")
def deploy_dir(tmp_path_factory, scripted_file) -> Path:
    """A real deploy log: the scripted policy on a dry-run arm for one goal, one second."""
    from robokit.cli import main

    log = tmp_path_factory.mktemp("report_deploy") / "log"
    args = ["deploy", str(scripted_file), "--dry-run", "--goal", "0.15,0.1,0.15", "--duration", "1"]
    assert main([*args, "--log", str(log), "--quiet"]) == 0
    return log


def _images_loaded(drv) -> list[bool]:
    return drv.execute_script("return Array.from(document.images, i => i.complete && i.naturalWidth > 0)")


def test_a_run_folder_gets_curves_from_evals_jsonl_and_tensorboard(run_dir, driver):
    assert folder_kind(run_dir) == "run"
    build_report(hostile_eval(run_dir / "eval-a"))  # an evaluation inside the run, with its page
    page = build_report(run_dir)
    html = page.read_text()
    rows = [json.loads(line) for line in (run_dir / "evals.jsonl").read_text().splitlines()]
    assert html.count("<tr><td data-v=") == 0 and len(rows) == 2
    assert html.count("</tr>") >= len(rows) and all(f">{r['steps']}</td>" in html for r in rows)
    assert (run_dir / "report-evals.png").is_file() and (run_dir / "report-tensorboard.png").is_file()
    assert '<a href="eval-a/report.html">eval-a</a>' in html
    assert "train/actor_loss" in html and "eval/success_rate" in html  # tags SB3 wrote to tb/
    urls, severe = open_page(driver, page)
    assert severe == [] and all(u.startswith((run_dir.resolve().as_uri(), "data:")) for u in urls)
    loaded = _images_loaded(driver)
    assert len(loaded) == 2 and all(loaded)


def test_a_deploy_log_gets_joints_timing_reach_errors_and_link_counters(deploy_dir, tmp_path, driver):
    log = tmp_path / "log"
    shutil.copytree(deploy_dir, log)
    summary = json.loads((log / "summary.json").read_text())
    summary["link"] = {"frames_sent": 25, "host_bad_crc": 3}  # as a serial arm reports them
    (log / "summary.json").write_text(json.dumps(summary))
    (log / "joints.png").unlink()  # drawn from ticks.jsonl instead
    with open(log / "ticks.jsonl", "a") as f:
        f.write('{"tick": 99, "q": [0.1')  # a line cut short
    page = build_report(log)
    html = page.read_text()
    err_cm = 100 * summary["goals"][0]["reach_error_m"]
    assert f">{err_cm:.2f}</td>" in html and "host_bad_crc</td><td>3" in html
    assert "ticks.jsonl: 1 damaged line(s) left out" in html
    ticks = (log / "ticks.jsonl").read_text().count("\n")
    assert f"ticks logged</td><td>{ticks}" in html
    for name in ("report-joints.png", "report-timing.png", "report-reach.png"):
        assert (log / name).is_file() and f'src="{name}"' in html
    urls, severe = open_page(driver, page)
    assert severe == [] and all(u.startswith((log.resolve().as_uri(), "data:")) for u in urls)
    loaded = _images_loaded(driver)
    assert len(loaded) == 3 and all(loaded)


def test_damaged_run_files_are_named_on_the_page(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("env_id: [unclosed\n")
    (run / "evals.jsonl").write_text('{"steps": 100, "success_rate": 0.5}\nnot json\n{"success_rate": 1}\n')
    (run / "tb").mkdir()
    (run / "tb" / "events.out.tfevents.1.host").write_bytes(b"\x00garbage" * 10)
    html = build_report(run).read_text()
    for words in (
        "config.yaml is not valid YAML",
        "1 damaged line(s)",
        "without a step count",
        "no policy.safetensors",
    ):
        assert words in html, words


DAMAGED = [  # (file, contents): wrong types, NaN, cut-short lines, odd bytes, unsafe YAML tags
    ("eval.json", b"[]"),
    ("eval.json", b'{"episodes": 5, "aggregate": [], "videos": {}, "plots": "x", "spec": [1]}'),
    (
        "eval.json",
        b'{"episodes": [{"episode": "x", "holding": 5, "return": NaN}], "aggregate": {"success_ci95": "a"}}',
    ),
    ("eval.json", b'{"policy": "a\\u0000b", "videos": [1, null, "videos/../x.mp4"]}'),
    ("eval.json", b"\xff\xfe garbage"),
    ("summary.json", b'{"goals": 5, "holding": [], "link": [1], "notes": "x", "safety": 3, "target_hz": 0}'),
    ("summary.json", b'{"goals": [{"goal_m": "x", "reach_error_m": "y", "holding": 1}], "target_hz": -5}'),
    ("ticks.jsonl", b'{"tick": "a", "q": "x", "flags": 5}\n[1]\n{"q": [1, 2], "targets": [1], "tick": 1}\n'),
    ("evals.jsonl", b'{"steps": "x"}\n{"steps": 1, "success_rate": "a"}\n{"steps": 1e999}\n5\n'),
    ("config.yaml", b"!!python/object/apply:os.system [echo hi]\n"),
    (
        "study.journal",
        b'{"op_code": "x"}\n{"op_code": 4, "study_id": 0}\n{"op_code": 6, "trial_id": 0, "state": 99}\n',
    ),
]


@pytest.mark.parametrize("name, data", DAMAGED)
def test_a_damaged_file_gives_a_page_not_an_exception(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    html = build_report(tmp_path).read_text()
    assert "</html>" in html and "<script>" in html
