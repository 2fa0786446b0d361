"""The train/eval/info subcommands: help text, exit codes, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robokit.policies import cli_eval, cli_info, cli_train


@pytest.mark.parametrize("module", [cli_train, cli_eval, cli_info])
def test_help(module, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        module.main(["--help"])
    assert exc.value.code == 0
    assert "usage: robokit" in capsys.readouterr().out


def test_info_prints_the_spec(scripted_file: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli_info.main([str(scripted_file)]) == 0
    out = capsys.readouterr().out
    assert "servo_arm" in out and "ee_delta at 25.0 Hz" in out and "scripted_ik" in out
    assert cli_info.main([str(scripted_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["robot"] == "servo_arm"


def test_info_and_eval_refuse_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    assert cli_info.main([str(bad)]) == 2
    assert cli_eval.main([str(bad), "--episodes", "1"]) == 2
    assert "robokit eval:" in capsys.readouterr().err


def test_eval_writes_results(scripted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "ev"
    args = [str(scripted_file), "--episodes", "3", "--workers", "1", "--out", str(out), "--no-progress"]
    assert (
        cli_eval.main(args + ["--video", "--video-episodes", "1", "--width", "160", "--height", "128"]) == 0
    )
    assert "success rate" in capsys.readouterr().out
    assert json.loads((out / "eval.json").read_text())["success_rate"] == 1.0
    assert (out / "videos" / "episode-000.mp4").is_file() and (out / "videos" / "grid.mp4").is_file()
