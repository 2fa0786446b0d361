"""``robokit report DIR``: the page's path on stdout for a folder of a known kind (here a deploy log made
of files), one line and exit code 2 for anything else; ``--out`` puts the page elsewhere with links back
into DIR."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from robokit.cli import main


def _robokit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "robokit.cli", "report", *args], capture_output=True, text=True, timeout=120
    )


def _deploy_log(folder: Path) -> Path:
    """A deploy log of two ticks and a summary with one goal, written as the deploy loop writes them."""
    folder.mkdir()
    ticks = [
        {"tick": i, "lateness_ms": 0.1 * i, "q": [0.0, 0.1 * i], "targets": [0.1, 0.2], "read_ms": 0.5}
        for i in range(2)
    ]
    (folder / "ticks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in ticks))
    goal = {"goal_m": [0.1, 0.0, 0.2], "reach_error_m": 0.004, "reached": True, "time_to_reach_s": 0.3}
    summary = {"exit_reason": "completed", "ticks": 2, "target_hz": 25.0, "goals": [goal], "link": {}}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_a_deploy_log_gets_its_page_and_the_path_is_printed(tmp_path, capsys):
    log = _deploy_log(tmp_path / "log")
    assert main(["report", str(log)]) == 0
    assert capsys.readouterr().out.strip() == str(log / "report.html")
    html = (log / "report.html").read_text()
    assert "Deploy log: completed" in html and ">0.40</td>" in html  # the reach error in cm


def test_out_elsewhere_links_back_into_the_folder(tmp_path):
    log = _deploy_log(tmp_path / "log")
    page = tmp_path / "pages" / "deploy.html"
    assert main(["report", str(log), "--out", str(page)]) == 0 and page.is_file()
    html = page.read_text()
    assert 'src="report-timing.png"' in html and (page.parent / "report-timing.png").is_file()
    assert not (log / "report.html").exists()


def test_a_folder_of_no_known_kind_is_one_line_naming_what_was_looked_for(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    for args in ([str(tmp_path)], [str(tmp_path / "absent")], [str(tmp_path / "notes.txt")]):
        proc = _robokit(*args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("robokit report: ")
    assert "notes.txt is not a folder" in proc.stderr
    assert "eval.json (eval)" in _robokit(str(tmp_path)).stderr


def test_out_naming_a_folder_is_refused(tmp_path):
    log = _deploy_log(tmp_path / "log")
    proc = _robokit(str(log), "--out", str(tmp_path))
    assert proc.returncode == 2 and "is a folder; name a file" in proc.stderr
    assert not (log / "report.html").exists()


def test_an_out_that_cannot_be_written_is_one_line_and_nothing_is_drawn(tmp_path):
    log = _deploy_log(tmp_path / "log")
    for out, words in (("/proc/robokit/page.html", "cannot write in /proc"), ("", "empty")):
        proc = _robokit(str(log), "--out", out)
        assert proc.returncode == 2 and words in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert sorted(p.name for p in log.iterdir()) == ["summary.json", "ticks.jsonl"]


def test_out_never_writes_over_a_file_that_is_not_a_report_page(tmp_path, capsys):
    """Found by attack: `--out DIR/study.journal` (or eval.json, a policy file) was written over with HTML."""
    from robokit.cli import main

    folder = tmp_path / "ev"
    folder.mkdir()
    (folder / "eval.json").write_text('{"episodes": []}')
    before = (folder / "eval.json").read_bytes()
    assert main(["report", str(folder), "--out", str(folder / "eval.json")]) == 2
    err = capsys.readouterr().err
    assert "exists and is not a report page" in err and err.count("\n") == 1
    assert (folder / "eval.json").read_bytes() == before
    assert main(["report", str(folder)]) == 0 and main(["report", str(folder)]) == 0  # its own page: rebuilt
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such folder" in capsys.readouterr().err
