"""``robokit sweep`` arguments: a bad one is one line and exit 2 with nothing written; without Optuna (or
Ray for --ray) the command says how to install them; Ctrl-C leaves a study that the same command
resumes (a real SIGINT to a real process)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robokit.cli import main as robokit_main

ENV_ID = "robokit/ServoArmReach-v0"


def _one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture) -> str:
    try:
        code = robokit_main(["sweep", *argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and err.startswith("robokit sweep: "), (out, err)
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--trials", "0"], "argument --trials: 0 is not in [1, 10000]"),
        (["--trials", "2", "--ray", "no address"], "--ray takes auto, local or HOST:PORT"),
        (["--trials", "2", "--algo", "bc"], "invalid choice: 'bc'"),
        (["--trials", "2", "--steps", "-1"], "argument --steps: -1 is out of range"),
        (["--trials", "2", "--jobs", "1000"], "argument --jobs: 1000 is not in [1, 64]"),
        (["--trials", "2", "--steps", "100", "--eval-every", "500"], "no evaluation to score or prune"),
    ],
)
def test_bad_arguments_are_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str], message: str
) -> None:
    err = _one_line_exit_2([ENV_ID, "--out", str(tmp_path / "s"), *argv], capsys)
    assert message in err
    assert not (tmp_path / "s").exists()


def test_an_unknown_env_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    err = _one_line_exit_2(["robokit/Nope-v0", "--out", str(tmp_path / "s"), "--trials", "1"], capsys)
    assert "Nope-v0" in err and not (tmp_path / "s").exists()


@pytest.mark.parametrize(("missing", "extra"), [("optuna", []), ("ray", ["--ray", "local"])])
def test_without_the_scale_extra_it_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, missing: str, extra: list
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # ``import optuna`` now raises ImportError
    err = _one_line_exit_2([ENV_ID, "--out", str(tmp_path / "s"), "--trials", "1", *extra], capsys)
    assert "pip install -e '.[scale]'" in err and not (tmp_path / "s").exists()


def test_eval_ray_without_ray_says_how_to_install_it(
    scripted_file: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    assert robokit_main(["eval", str(scripted_file), "--ray", "local", "--episodes", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "robokit eval --ray needs Ray: pip install -e '.[scale]'" in err
    assert robokit_main(["eval", str(scripted_file), "--ray", "local", "--video"]) == 2
    assert "drop --video or --ray" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_leaves_a_study_the_same_command_resumes(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "robokit", "sweep", ENV_ID, "--out", str(tmp_path), "--trials", "2"]
    cmd += ["--steps", "300", "--eval-every", "100", "--eval-episodes", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:  # trial 0 done, trial 1 running: Ctrl-C
        lines.append(line)
        if line.startswith("trial 0"):
            time.sleep(1.5)  # trial 1 has started
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (lines, err)
    assert "interrupted; the study in" in err and "rerun the same command to resume" in err
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1/2 trials done" in done.stdout and "trials: 2 complete, 1 fail" in done.stdout, done.stdout
    assert (tmp_path / "best.yaml").is_file()
