"""`robokit eval`: every option that makes no sense is a one-line usage error (exit 2), checked before
any episode runs, with nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from robokit.cli import eval as cli_eval

BAD_OPTIONS = {
    "no episodes": (["--episodes", "0"], "--episodes must be an integer in 1..1000000, not 0"),
    "negative episodes": (["--episodes", "-5"], "--episodes must be an integer in 1..1000000, not -5"),
    "episodes not a number": (["--episodes", "ten"], "argument --episodes: invalid int value: 'ten'"),
    "no workers": (["--workers", "0"], "--workers must be an integer in 1..64, not 0"),
    "negative workers": (["--workers", "-2"], "--workers must be an integer in 1..64, not -2"),
    "too many workers": (["--workers", "100000"], "--workers must be an integer in 1..64, not 100000"),
    "negative seed": (["--seed", "-1"], "--seed must be an integer 0 or more, not -1"),
    "zero size video": (
        ["--video", "--width", "0", "--height", "0"],
        "--width must be an integer in 64..4096, not 0",
    ),
    "huge video": (["--video", "--height", "100000"], "--height must be an integer in 64..4096, not 100000"),
    "no video episodes": (
        ["--video", "--video-episodes", "0"],
        "--video-episodes must be an integer in 1..16",
    ),
    "zero fps": (["--video", "--fps", "0"], "--fps must be a number in 1..240, not 0.0"),
    "nan fps": (["--video", "--fps", "nan"], "--fps must be a number in 1..240, not nan"),
    "video option without --video": (
        ["--width", "320", "--fps", "10"],
        "--width, --fps only apply with --video",
    ),
    "unknown env": (["--env", "robokit/Nope-v0"], "unknown env 'robokit/Nope-v0'"),
    "env of another robot": (["--env", "robokit/PandaReach-v0"], "robot"),
    "unknown option": (["--frobnicate"], "unrecognized arguments: --frobnicate"),
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_bad_option_is_a_one_line_usage_error_with_nothing_written(
    case: str, scripted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args, message = BAD_OPTIONS[case]
    out = tmp_path / "ev"
    before = sorted(scripted_file.parent.iterdir())
    try:
        code = cli_eval.main([str(scripted_file), "--out", str(out), "--no-progress", *args])
    except SystemExit as exc:  # argparse's own errors (types, unknown options)
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("robokit eval: "), err
    assert message in err and "Traceback" not in err
    assert not out.exists() and sorted(scripted_file.parent.iterdir()) == before


@pytest.mark.parametrize("where", ["a file", "under a file", "not creatable"])
def test_bad_out_is_a_usage_error_with_nothing_written(
    where: str, scripted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    out = {"a file": blocker, "under a file": blocker / "ev", "not creatable": Path("/proc/robokit-eval")}[
        where
    ]
    code = cli_eval.main([str(scripted_file), "--out", str(out), "--episodes", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"robokit eval: --out {out}")
    assert blocker.read_text() == "keep me" and sorted(tmp_path.iterdir()) == [blocker]


@pytest.mark.parametrize("what", ["missing", "a folder"])
def test_a_policy_that_is_not_a_file_is_a_usage_error(
    what: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "policy.safetensors"
    if what == "a folder":
        path.mkdir()
    code = cli_eval.main([str(path), "--out", str(tmp_path / "ev"), "--episodes", "1"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "ev").exists()


def test_seed_and_episodes_choose_the_episodes(scripted_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "ev"
    args = [str(scripted_file), "--out", str(out), "--episodes", "3", "--seed", "41", "--workers", "3"]
    assert cli_eval.main([*args, "--no-plot", "--no-progress"]) == 0
    data = json.loads((out / "eval.json").read_text())
    assert [e["seed"] for e in data["episodes"]] == [41, 42, 43] and data["plots"] == []
    assert not list(out.glob("*.png"))


def test_eval_output_piped_has_no_carriage_returns(scripted_file: Path, tmp_path: Path) -> None:
    """The real command with stdout and stderr piped: plain progress lines, the table, no \\r."""
    cmd = [sys.executable, "-m", "robokit.cli", "eval", str(scripted_file), "--episodes", "4"]
    done = subprocess.run(
        [*cmd, "--workers", "2", "--out", str(tmp_path / "ev"), "--no-plot"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stdout + done.stderr and "\x1b" not in done.stderr
    assert "eval: 4/4 ep (100%" in done.stderr and "holding: medians over 4 episodes" in done.stdout
