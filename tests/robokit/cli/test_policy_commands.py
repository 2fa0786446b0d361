"""The train/eval/info subcommands: help text, exit codes, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robokit.cli import eval as cli_eval
from robokit.cli import info as cli_info
from robokit.cli import train as cli_train

ENV_ID = "robokit/ServoArmReach-v0"


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> contents); {} if the folder does not exist."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


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


def test_train_refuses_an_unknown_env_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    assert cli_train.main(["robokit/Nope-v0", "--out", str(run), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"robokit train: unknown env 'robokit/Nope-v0'; known: {ENV_ID}," in err
    assert "robokit/PandaReach-v0" in err and "(see `robokit envs`)" in err and "Traceback" not in err
    assert not run.exists()

    import gymnasium as gym

    from robokit.policies import default_config, train

    with pytest.raises(gym.error.Error):  # the Python API also fails before touching the folder
        train(default_config("robokit/Nope-v0", out=str(run), progress=False))
    assert not run.exists()


@pytest.mark.parametrize("state", ["missing", "empty", "config only"])
def test_train_resume_needs_a_checkpoint(state: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    if state != "missing":
        run.mkdir()
    if state == "config only":  # e.g. killed before the first checkpoint
        from robokit.policies import default_config

        default_config(ENV_ID, out=str(run)).save_yaml(run / "config.yaml")
    before = _snapshot(run)
    assert cli_train.main([ENV_ID, "--out", str(run), "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"robokit train: {run} " in err
    assert "no checkpoint to resume from; drop --resume to start a new run" in err and "Traceback" not in err
    assert run.exists() == (state != "missing") and _snapshot(run) == before


@pytest.mark.filterwarnings("ignore:The last trajectory in the replay buffer will be truncated")
def test_train_resume_refuses_another_env(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    short = ["--steps", "100", "--checkpoint-every", "50", "--eval-every", "100", "--eval-episodes", "2"]
    assert cli_train.main([ENV_ID, "--out", str(run), *short, "--no-progress"]) == 0
    assert (run / "checkpoints" / "latest").is_file()
    capsys.readouterr()
    before = _snapshot(run)
    assert cli_train.main(["robokit/PandaReach-v0", "--out", str(run), "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"robokit train: {run} was trained on {ENV_ID}, not robokit/PandaReach-v0;" in err
    assert "Traceback" not in err
    assert _snapshot(run) == before
    assert cli_train.main([ENV_ID, "--out", str(run), "--resume", "--algo", "sac", "--no-progress"]) == 2
    assert f"{run} was trained with td3, not sac" in capsys.readouterr().err
    assert _snapshot(run) == before


def test_eval_refuses_an_unknown_env(
    scripted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "ev"
    args = [str(scripted_file), "--env", "robokit/Nope-v0", "--episodes", "1", "--out", str(out)]
    assert cli_eval.main(args) == 2
    err = capsys.readouterr().err
    assert f"robokit eval: unknown env 'robokit/Nope-v0'; known: {ENV_ID}," in err and "Traceback" not in err
    assert not out.exists()


def test_eval_refuses_a_policy_for_an_env_it_does_not_know(
    scripted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from robokit.policies import load_policy

    policy = load_policy(scripted_file)
    policy.spec["env_id"] = "robokit/Gone-v0"  # trained with a newer robokit, say
    gone = tmp_path / "gone.safetensors"
    policy.save(gone)
    out = tmp_path / "ev"
    assert cli_eval.main([str(gone), "--episodes", "1", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "trained on 'robokit/Gone-v0', which this robokit does not register" in err
    assert "Traceback" not in err and not out.exists()
