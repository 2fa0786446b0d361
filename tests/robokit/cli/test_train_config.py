"""``robokit train --config FILE``: the env's defaults < the file < the flags; a bad file or a file for
another env is one line and exit 2 with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from robokit.cli import train as cli_train

ENV_ID = "robokit/ServoArmReach-v0"


def _config(argv: list[str]):
    args = cli_train.build_parser().parse_args(argv)
    assert cli_train.args_problem(args) is None
    return cli_train._config(args, args.steps, args.device)


def test_the_file_overrides_the_defaults_and_flags_override_the_file(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "algo: sac\nlearning_rate: 0.0005\nnet_arch: [32, 32, 32]\nsteps: 777\nstop_success_rate: null\n"
    )
    base = [ENV_ID, "--out", str(tmp_path / "run"), "--config", str(tmp_path / "c.yaml")]
    config = _config(base)
    assert (config.algo, config.learning_rate, config.net_arch, config.steps) == ("sac", 5e-4, [32] * 3, 777)
    assert config.stop_success_rate is None  # a null in the file is kept, not taken for "not given"
    assert config.gamma == 0.95  # not in the file: the env's default
    config = _config([*base, "--steps", "50", "--algo", "td3", "--stop-success", "0.5"])
    assert (config.steps, config.algo, config.stop_success_rate) == (50, "td3", 0.5)
    assert config.learning_rate == 5e-4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gamma: 2\n", "gamma must be in (0, 1], not 2"),
        ("env_id: robokit/PandaReach-v0\n", "is for robokit/PandaReach-v0, not robokit/ServoArmReach-v0"),
        ("nope: 1\n", "unknown setting 'nope'"),
    ],
)
def test_a_bad_config_file_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture, text: str, message: str
) -> None:
    (tmp_path / "c.yaml").write_text(text)
    code = cli_train.main([ENV_ID, "--out", str(tmp_path / "run"), "--config", str(tmp_path / "c.yaml")])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()


def test_config_with_resume_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "c.yaml").write_text("gamma: 0.9\n")
    argv = [ENV_ID, "--out", str(tmp_path / "run"), "--config", str(tmp_path / "c.yaml"), "--resume"]
    assert cli_train.main(argv) == 2
    assert "--config cannot change a run on --resume" in capsys.readouterr().err
