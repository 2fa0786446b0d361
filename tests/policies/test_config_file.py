"""Training config files (``robokit train --config``) are untrusted input: every key, type and tuned range
is checked, and what ``write_config_file`` writes reads back as the same settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from robokit.policies.config import TrainConfig, default_config
from robokit.policies.config_file import (
    MAX_CONFIG_BYTES,
    ConfigFileError,
    read_config_file,
    write_config_file,
)


def test_a_written_config_reads_back_as_the_same_settings(tmp_path: Path) -> None:
    config = default_config("robokit/ServoArmReach-v0", "sac", learning_rate=3e-4, net_arch=[128, 128])
    write_config_file(tmp_path / "c.yaml", config)
    settings = read_config_file(tmp_path / "c.yaml")
    assert "out" not in settings and "progress" not in settings
    assert TrainConfig.from_dict({**settings, "out": config.out}) == config


def test_json_is_taken_too(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"gamma": 0.9, "batch_size": 64, "stop_success_rate": null}')
    assert read_config_file(tmp_path / "c.json") == {
        "gamma": 0.9,
        "batch_size": 64,
        "stop_success_rate": None,
    }


BAD = [
    ("gamma: [1", "not valid YAML or JSON (line"),
    ("- 1\n- 2\n", "must hold a mapping"),
    ("learning_rat: 0.1\n", "unknown setting 'learning_rat'"),
    ("out: /etc\n", "'out' is not a file setting"),
    ("batch_size: 64.5\n", "batch_size must be a whole number, not 64.5"),
    ("batch_size: true\n", "batch_size must be a whole number, not True"),
    ("learning_rate: .nan\n", "learning_rate must be a finite number"),
    ("learning_rate: 0\n", "learning_rate must be in (0, 1], not 0"),
    ("gamma: 1.5\n", "gamma must be in (0, 1], not 1.5"),
    ("net_arch: [64, '64']\n", "net_arch must be a list of whole numbers"),
    ("her: 'yes'\n", "her must be true or false"),
    ("algo: dqn\n", "algo must be one of sac, td3, tqc, ppo, bc, not 'dqn'"),
    ("env_id: 7\n", "env_id must be a string, not 7"),
    ("action_change_penalty: 1000\n", "action_change_penalty must be in [0, 100]"),
    ("n_envs: 1000\n", "n_envs must be in [1, 64], not 1000"),  # a process each: not a fork bomb
    ("buffer_size: 1000000000\n", "buffer_size must be in [1, 5e+06]"),
    ("demo_episodes: 100000000\n", "demo_episodes must be in [1, 100000]"),
    ("n_steps: 10000000\n", "n_steps must be in [1, 65536]"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_file_is_refused_in_one_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigFileError) as info:
        read_config_file(tmp_path / "c.yaml")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_missing_a_binary_or_a_huge_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="no such file"):
        read_config_file(tmp_path / "none.yaml")
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigFileError, match="cannot read"):
        read_config_file(tmp_path / "bin")
    (tmp_path / "big.yaml").write_text("# " + "x" * MAX_CONFIG_BYTES)
    with pytest.raises(ConfigFileError, match="larger than 64 KiB"):
        read_config_file(tmp_path / "big.yaml")
    with pytest.raises(ConfigFileError, match="is not a file"):
        read_config_file(tmp_path)
