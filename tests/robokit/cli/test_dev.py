"""``robokit dev``: the code generators as developer subcommands, left out of ``robokit --help``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robokit.cli import main
from robokit.firmware_bridge.gen_defaults import HEADER_PATH
from robokit.firmware_bridge.gen_vectors import DEFAULT_OUT


def test_gen_defaults_writes_the_checked_in_header(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "robot_defaults.h"
    assert main(["dev", "gen-defaults", "--out", str(out)]) == 0
    assert out.read_text() == HEADER_PATH.read_text()
    assert f"wrote {out}" in capsys.readouterr().out


def test_gen_vectors_writes_the_checked_in_vectors(tmp_path: Path) -> None:
    out = tmp_path / "vectors.json"
    assert main(["dev", "gen-vectors", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads(DEFAULT_OUT.read_text())


def test_an_unknown_robot_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "h.h"
    assert main(["dev", "gen-defaults", "--robot", "nope", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown robot 'nope'" in err
    assert not out.exists()


def test_an_unwritable_out_is_one_line_exit_1(capsys: pytest.CaptureFixture) -> None:
    assert main(["dev", "gen-vectors", "--out", "/proc/robokit-vectors.json"]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("robokit dev gen-vectors: cannot write /proc/robokit-vectors.json")
        and err.count("\n") == 1
    )


def test_dev_is_left_out_of_the_main_help(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "deploy" in out and " dev " not in out and "gen-defaults" not in out
