"""``robokit train`` arguments (issue 9, items 11 and 17): every nonsense option is a one-line usage error
with exit code 2 that writes nothing; ``--resume`` on a finished run has nothing to do; ``--device cuda`` on
a CPU-only torch is refused; the progress bar writes no ``\\r`` into a pipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from robokit.cli import train as cli_train

ENV_ID = "robokit/ServoArmReach-v0"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture) -> str:
    """Run ``robokit train argv``: it must end with exit code 2 and one line on stderr; returns the line."""
    try:
        code = cli_train.main(argv)
    except SystemExit as exc:  # argparse's own checks exit from parse_args
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    assert err.count("\n") == 1 and err.startswith("robokit train: "), err
    assert "Traceback" not in err and out == ""
    return err.strip()


NO_CUDA = "cuda" if not torch.cuda.is_available() else None
BAD_OPTIONS = [  # (extra argv, fragment of the message)
    (["--steps", "0"], "argument --steps: 0 is out of range: want 1 or more"),
    (["--steps", "-5"], "argument --steps: -5 is out of range"),
    (["--steps", "nan"], "argument --steps: 'nan' is not an integer"),
    (["--steps", "1e3"], "argument --steps: '1e3' is not an integer"),
    (["--seed", "-1"], "argument --seed: -1 is not in [0, "),
    (["--seed", str(2**32)], "argument --seed: 4294967296 is not in [0, "),
    (["--n-envs", "0"], "argument --n-envs: 0 is not in [1, 64]"),
    (["--n-envs", "1000"], "argument --n-envs: 1000 is not in [1, 64]"),
    (["--eval-every", "0"], "argument --eval-every: 0 is out of range"),
    (["--eval-episodes", "0"], "argument --eval-episodes: 0 is out of range"),
    (["--checkpoint-every", "-1"], "argument --checkpoint-every: -1 is out of range"),
    (["--stop-success", "0"], "argument --stop-success: 0 is not in (0, 1]"),
    (["--stop-success", "1.5"], "argument --stop-success: 1.5 is not in (0, 1]"),
    (["--stop-success", "nan"], "argument --stop-success: nan is not in (0, 1]"),
    (["--stop-success", "x"], "argument --stop-success: 'x' is not a number"),
    (["--stop-success", "0.9", "--no-stop"], "--stop-success and --no-stop contradict each other"),
    (["--algo", "dqn"], "argument --algo: invalid choice: 'dqn'"),
    (["--device", "nonsense"], "--device 'nonsense' is not a torch device"),
    (["--device", "tpu"], "--device 'tpu' is not a torch device"),
    (["--net-arch", "64,64"], "unrecognized arguments: --net-arch 64,64"),
    (["--resume", "--seed", "3"], "--seed cannot change a run on --resume"),
    (["--resume", "--n-envs", "2", "--no-stop"], "--n-envs, --no-stop cannot change a run on --resume"),
    (
        ["--resume", "--eval-every", "9", "--eval-episodes", "2"],
        "--eval-every, --eval-episodes cannot change",
    ),
]
if NO_CUDA:
    BAD_OPTIONS += [
        (["--device", "cuda"], "--device cuda: this torch"),
        (["--device", "cuda:1"], "sees no CUDA device; use --device cpu"),
    ]


@pytest.mark.parametrize(("extra", "fragment"), BAD_OPTIONS, ids=[" ".join(c[0]) for c in BAD_OPTIONS])
def test_nonsense_options_are_one_line_usage_errors_that_write_nothing(
    extra: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    line = _usage_error([ENV_ID, "--out", str(run), "--no-progress", *extra], capsys)
    assert fragment in line, line
    assert not run.exists()


def test_bad_env_ids_and_outs_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    assert "unknown env 'ServoArmReach'" in _usage_error(["ServoArmReach", "--out", str(run)], capsys)
    assert "the following arguments are required: --out" in _usage_error([ENV_ID], capsys)
    assert "--out must name a folder" in _usage_error([ENV_ID, "--out", ""], capsys)
    assert not run.exists()
    # item 11: --out naming a file (or a folder under a file) is refused, and the file is left alone
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    line = _usage_error([ENV_ID, "--out", str(afile)], capsys)
    assert f"--out {afile} is a file; a run is a folder" in line
    line = _usage_error([ENV_ID, "--out", str(afile / "run")], capsys)
    assert f"{afile} is a file, so the run folder cannot be created there" in line
    assert afile.read_text() == "mine"


def test_train_api_refuses_settings_it_cannot_run_with(tmp_path: Path) -> None:
    from robokit.policies import default_config, train
    from robokit.policies.training import TrainConfigError

    run = tmp_path / "run"
    for overrides, fragment in [
        ({"steps": 0}, "steps must be a whole number of at least 1, not 0"),
        ({"eval_episodes": -1}, "eval_episodes must be"),
        ({"stop_success_rate": 2.0}, "stop_success_rate must be in (0, 1]"),
        ({"seed": -3}, "seed must be a whole number in [0, "),
        ({"device": "tpu"}, "is not a torch device"),
        ({"net_arch": [8192]}, "net_arch sizes must be whole numbers in [1, 4096]"),  # the loader's limit
        ({"net_arch": [64] * 17}, "net_arch must list at most 16 layer sizes"),
    ]:
        with pytest.raises(TrainConfigError, match=fragment.replace("(", r"\(").replace("[", r"\[")):
            train(default_config(ENV_ID, out=str(run), progress=False, **overrides))
        assert not run.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a torch without CUDA")
def test_device_cuda_on_a_cpu_only_torch_is_refused_not_silently_cpu(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Item 17: SB3 silently fell back to the CPU and the policy recorded "cuda"."""
    from robokit.policies import default_config, train
    from robokit.policies.training import TrainConfigError

    run = tmp_path / "run"
    line = _usage_error([ENV_ID, "--out", str(run), "--device", "cuda", "--steps", "50"], capsys)
    assert "sees no CUDA device; use --device cpu" in line
    with pytest.raises(TrainConfigError, match="sees no CUDA device"):
        train(default_config(ENV_ID, out=str(run), device="cuda", progress=False))
    assert not run.exists()


def test_resume_of_a_finished_run_has_nothing_to_do(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Item 11: --resume on a run that did all its steps says so, exits 0 and changes nothing. The first
    run has its progress bar on: into a pipe (capsys) it prints plain lines, no \\r (item 17)."""
    run = tmp_path / "run"
    tiny = ["--steps", "60", "--checkpoint-every", "30", "--eval-every", "60", "--eval-episodes", "1"]
    assert cli_train.main([ENV_ID, "--out", str(run), *tiny]) == 0
    out, err = capsys.readouterr()
    assert "\r" not in err and "\r" not in out
    assert "ServoArmReach-v0: 60/60 step (100%" in err, err
    latest = run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
    assert json.loads((latest / "state.json").read_text())["solved"] is False
    before = _snapshot(run)
    for extra in ([], ["--steps", "60"], ["--steps", "40"], ["--no-progress", "--device", "cpu"]):
        assert cli_train.main([ENV_ID, "--out", str(run), "--resume", *extra]) == 0
        out, err = capsys.readouterr()
        assert out.startswith(f"nothing to do: {run} has already trained 60 steps"), out
        assert f"policy: {run / 'policy.safetensors'} (unchanged)" in out and err == ""
        assert _snapshot(run) == before
    # the Python API agrees: the policy comes back untouched
    from robokit.policies import default_config, train

    assert train(default_config(ENV_ID, out=str(run), steps=60, progress=False), resume=True) == (
        run / "policy.safetensors"
    )
    assert _snapshot(run) == before
    # a run that stopped early, solved, has nothing to do within its own budget (its state.json says
    # so; here written by hand, as training writes it when the early stop fires)
    state = json.loads((latest / "state.json").read_text())
    (latest / "state.json").write_text(json.dumps({**state, "solved": True}))
    config = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(config.replace("steps: 60", "steps: 1000"))
    before = _snapshot(run)
    assert cli_train.main([ENV_ID, "--out", str(run), "--resume"]) == 0
    assert "stopped at 60 steps with the task solved" in capsys.readouterr().out
    assert _snapshot(run) == before


def test_resume_with_a_damaged_config_or_state_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from robokit.policies import default_config

    run = tmp_path / "run"
    ckpt = run / "checkpoints" / "step-000000030"
    ckpt.mkdir(parents=True)
    (ckpt / "state.json").write_text("{not json")
    (run / "checkpoints" / "latest").write_text(ckpt.name)
    default_config(ENV_ID, out=str(run)).save_yaml(run / "config.yaml")
    before = _snapshot(run)
    line = _usage_error([ENV_ID, "--out", str(run), "--resume"], capsys)
    assert "state.json cannot be read" in line and "the checkpoint is damaged" in line
    (run / "config.yaml").write_text("- just\n- a list\n")
    line = _usage_error([ENV_ID, "--out", str(run), "--resume"], capsys)
    assert "config.yaml cannot be read" in line
    (run / "config.yaml").write_text(config_text := "steps: [1\n")
    assert "config.yaml cannot be read" in _usage_error([ENV_ID, "--out", str(run), "--resume"], capsys)
    assert (run / "config.yaml").read_text() == config_text
    assert {k: v for k, v in _snapshot(run).items() if k != "config.yaml"} == {
        k: v for k, v in before.items() if k != "config.yaml"
    }


def test_an_rl_run_of_a_task_whose_default_is_bc_resumes_as_itself(tmp_path: Path, capsys) -> None:
    """Found by attack: `--resume` of a td3 Push run without --algo said 'bc runs are not resumed' (Push's
    default algo is bc); the run's own config.yaml says what it is."""
    push, run = "robokit/ServoArmPush-v0", tmp_path / "run"
    tiny = ["--steps", "60", "--checkpoint-every", "30", "--eval-every", "60", "--eval-episodes", "1"]
    assert cli_train.main([push, "--algo", "td3", "--out", str(run), *tiny, "--no-progress"]) == 0
    assert cli_train.main([push, "--out", str(run), "--resume", "--steps", "120", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "not resumed" not in err and "at 120 steps" in out, (out, err)
    assert json.loads((run / "evals.jsonl").read_text().splitlines()[-1])["steps"] == 120


def test_a_config_file_cannot_start_a_thousand_env_processes(tmp_path: Path, capsys) -> None:
    """Found by attack: `n_envs: 1000` in a --config file forked a thousand processes (the flag is bounded)."""
    config = tmp_path / "c.yaml"
    config.write_text("n_envs: 1000\n")
    run = tmp_path / "run"
    assert cli_train.main([ENV_ID, "--config", str(config), "--out", str(run), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "n_envs must be" in err and "1000" in err and err.count("\n") == 1 and not run.exists()


def test_the_training_checks_bound_n_envs_for_any_caller(tmp_path: Path) -> None:
    from robokit.policies import default_config
    from robokit.policies.config import TrainConfigError
    from robokit.policies.training import check_config

    with pytest.raises(TrainConfigError, match="n_envs must be at most 64"):
        check_config(default_config(ENV_ID, out=str(tmp_path / "run"), n_envs=65))
