"""report.html beside eval.json, opened in a real headless chromium (Selenium, Debian's chromium and
chromium-driver): it loads nothing from the network, works from a copied folder, logs no console errors,
plays every video, sorts and filters its episode table, and shows hostile strings from eval.json as
text. A screenshot is saved under the test's tmp dir (and $ROBOKIT_ARTIFACTS when set)."""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from pathlib import Path

import pytest

from robokit.policies import evaluate, scripted_policy
from robokit.policies.report import build_report, write_eval_report
from tests.policies.browser import open_page, screenshot, video_times
from tests.policies.report_fixtures import hostile_eval

ENV = "robokit/ServoArmReach-v0"


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory) -> Path:
    """A real evaluation: a policy file, 5 episodes, 2 filmed at 160x120."""
    root = tmp_path_factory.mktemp("report_eval")
    policy = scripted_policy(ENV).save(root / "policy.safetensors")
    out = root / "eval"
    report = evaluate(
        policy, episodes=5, out_dir=out, video=True, video_episodes=2, width=160, height=120, progress=False
    )
    assert report["report_html"] == "report.html"
    return out


def test_every_eval_writes_report_html_with_its_summary_videos_plots_and_provenance(eval_dir):
    data = json.loads((eval_dir / "eval.json").read_text())
    html = (eval_dir / "report.html").read_text()
    lo, hi = data["aggregate"]["success_ci95"]
    assert f"{100 * lo:.1f}%–{100 * hi:.1f}% (Wilson)" in html
    for name in data["videos"] + data["plots"]:
        assert f'src="{name}"' in html
    assert f"policy file: training_steps</td><td>{data['spec']['training_steps']}" in html
    assert html.count("<tr data-success=") == len(data["episodes"])
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_the_copied_page_loads_only_its_own_files_logs_no_errors_and_plays_every_video(
    eval_dir, tmp_path, driver
):
    copy = tmp_path / "moved" / "eval copy"
    shutil.copytree(eval_dir, copy)
    urls, severe = open_page(driver, copy / "report.html")
    assert severe == []
    own = copy.resolve().as_uri()
    assert urls and all(u.startswith((own, "data:", "blob:")) for u in urls), urls
    videos = json.loads((copy / "eval.json").read_text())["videos"]
    assert len(video_times(driver)) == len(videos) == 3
    deadline = time.monotonic() + 6.0  # ~1.5 s on a quiet machine; more under load
    while not all(t > 0 for t in video_times(driver)) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert all(t > 0 for t in video_times(driver)), video_times(driver)
    loaded = driver.execute_script(
        "return Array.from(document.images, i => i.complete && i.naturalWidth > 0)"
    )
    assert loaded and all(loaded)
    shot = screenshot(driver, tmp_path / "eval_report.png")
    if os.environ.get("ROBOKIT_ARTIFACTS"):  # CI keeps it (.ci/run)
        artifacts = Path(os.environ["ROBOKIT_ARTIFACTS"])
        artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, artifacts / "eval_report.png")
    assert shot.stat().st_size > 10_000


def _column(driver, table: str, index: int) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.getElementById(arguments[0]).tBodies[0].rows)"
        ".filter(r => !r.hidden).map(r => r.cells[arguments[1]].textContent)",
        table,
        index,
    )


def test_clicking_a_header_sorts_the_episode_table_by_number(eval_dir, driver):
    from selenium.webdriver.common.by import By

    distance = {
        e["episode"]: e["final_distance_m"]
        for e in json.loads((eval_dir / "eval.json").read_text())["episodes"]
    }
    open_page(driver, eval_dir / "report.html")
    header = driver.find_elements(By.CSS_SELECTOR, "#episodes th")
    col = [h.text for h in header].index("final distance (cm)")
    for direction in (1, -1):
        header[col].click()
        shown = [distance[int(x)] for x in _column(driver, "episodes", 0)]
        assert len(shown) == len(distance) and shown == sorted(shown, reverse=direction < 0)
        assert header[col].get_attribute("aria-sort") == ("ascending" if direction > 0 else "descending")


def test_hostile_strings_in_eval_json_show_as_text_and_no_link_leaves_the_folder(tmp_path, driver):
    folder = hostile_eval(tmp_path / "hostile")
    page = build_report(folder)
    urls, severe = open_page(driver, page)
    assert severe == [] and all(u.startswith(("file://", "data:")) for u in urls), urls
    assert all(folder.resolve().as_uri() in u for u in urls if u.startswith("file:"))
    assert driver.execute_script("return window.pwned === undefined && document.scripts.length === 1")
    assert "<script>window.pwned = 1</script>" in driver.title
    assert driver.execute_script("return document.querySelectorAll('video, img').length") == 0
    problems = driver.execute_script("return document.getElementById('problems').textContent")
    assert "javascript:alert(1)" in problems and "/etc/passwd" in problems


def test_the_filter_box_and_the_success_choice_hide_rows(tmp_path, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    folder = hostile_eval(tmp_path / "filter")
    episodes = json.loads((folder / "eval.json").read_text())["episodes"]
    open_page(driver, build_report(folder))
    select = Select(driver.find_element(By.CSS_SELECTOR, ".filter select"))
    select.select_by_value("no")
    assert [int(x) for x in _column(driver, "episodes", 0)] == [
        e["episode"] for e in episodes if not e["success"]
    ]
    select.select_by_value("all")
    box = driver.find_element(By.CSS_SELECTOR, ".filter input")
    box.send_keys(str(episodes[5]["seed"]))
    shown = _column(driver, "episodes", 1)
    assert shown == [str(episodes[5]["seed"])]
    count = driver.find_element(By.CSS_SELECTOR, ".filter .count").text
    assert count == f"1 of {len(episodes)} rows"


def test_a_damaged_eval_json_gives_a_page_that_says_so(tmp_path):
    folder = tmp_path / "damaged"
    folder.mkdir()
    (folder / "eval.json").write_text('{"env_id": "robokit/X", "episodes": [')
    html = build_report(folder).read_text()
    assert "eval.json is not valid JSON" in html


def test_a_report_that_cannot_be_written_is_a_warning_and_eval_json_stays(tmp_path):
    folder = hostile_eval(tmp_path / "blocked")
    (folder / "report.html").mkdir()  # a folder where the page would go
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert write_eval_report(folder) is None
    assert len(caught) == 1 and "report.html not written" in str(caught[0].message)
    assert json.loads((folder / "eval.json").read_text())["episodes"]


def test_numbers_sort_as_numbers_not_as_text(tmp_path, driver):
    from selenium.webdriver.common.by import By

    folder = hostile_eval(tmp_path / "numbers")
    seeds = [e["seed"] for e in json.loads((folder / "eval.json").read_text())["episodes"]]
    assert sorted(map(str, seeds)) != [str(s) for s in sorted(seeds)]  # text order would differ
    open_page(driver, build_report(folder))
    header = driver.find_elements(By.CSS_SELECTOR, "#episodes th")
    header[[h.text for h in header].index("seed")].click()
    assert [int(x) for x in _column(driver, "episodes", 1)] == sorted(seeds)


def test_an_eval_json_over_the_read_limit_is_named_not_read(tmp_path, monkeypatch):
    from robokit.policies.report import files

    folder = hostile_eval(tmp_path / "big")
    monkeypatch.setattr(files, "MAX_READ_BYTES", (folder / "eval.json").stat().st_size - 1)
    html = build_report(folder).read_text()
    assert "eval.json is over" in html and "not read" in html


def test_a_moved_or_damaged_policy_file_is_a_note_and_the_recorded_spec_stays(eval_dir, tmp_path):
    policy = Path(json.loads((eval_dir / "eval.json").read_text())["policy"])
    moved, damaged = tmp_path / "moved", tmp_path / "damaged"
    for copy in (moved, damaged):
        shutil.copytree(eval_dir, copy)
    data = json.loads((moved / "eval.json").read_text())
    data["policy"] = str(tmp_path / "gone.safetensors")
    (moved / "eval.json").write_text(json.dumps(data))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(policy.read_bytes()[:-7])  # cut short
    data["policy"] = str(bad)
    (damaged / "eval.json").write_text(json.dumps(data))
    for folder, words in ((moved, "is not there any more"), (damaged, "could not be read")):
        html = build_report(folder).read_text()
        assert words in html and f"spec: algo</td><td>{data['spec']['algo']}" in html
        assert "policy file: training_steps" not in html


def test_the_request_log_would_see_a_request_to_the_network(tmp_path, driver):
    """The control for the no-network checks: a page that asks for a remote image shows in the log."""
    page = tmp_path / "remote.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
    urls, _ = open_page(driver, page)
    assert "http://127.0.0.1:9/x.png" in urls


def test_infinities_sort_as_numbers_and_missing_values_last(tmp_path, driver):
    """Found by attack: parseFloat does not read "inf", so infinities sorted with the missing values."""
    from selenium.webdriver.common.by import By

    folder = hostile_eval(tmp_path / "inf")
    data = json.loads((folder / "eval.json").read_text())
    values = [None, float("inf"), -50.0, float("-inf"), 3.0]
    for episode, value in zip(data["episodes"], values):
        episode["return"] = value
    data["episodes"] = data["episodes"][: len(values)]
    (folder / "eval.json").write_text(json.dumps(data))  # Python writes Infinity, as a damaged file may
    open_page(driver, build_report(folder))
    header = driver.find_elements(By.CSS_SELECTOR, "#episodes th")
    column = [h.text for h in header].index("return")
    header[column].click()
    assert _column(driver, "episodes", column) == ["-inf", "-50", "3", "inf", "–"]
    header[column].click()
    assert _column(driver, "episodes", column) == ["inf", "3", "-50", "-inf", "–"]
