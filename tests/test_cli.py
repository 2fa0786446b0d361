import subprocess
import sys
import time

import imageio.v3 as iio

from robokit.cli import main


def test_help_is_instant_and_lists_commands():
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "robokit.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert time.perf_counter() - t0 < 5.0
    for cmd in ("demo", "envs", "train", "eval", "deploy", "emulate"):
        assert cmd in out.stdout
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, robokit.cli; print('torch' in sys.modules, 'pybullet' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert heavy.stdout.strip() == "False False"


def test_envs_table(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert "robokit/ServoArmReach-v0" in out and "robokit/PandaReach-v0" in out and "ee_delta" in out


def test_rollout_writes_a_png(tmp_path, capsys):
    png = tmp_path / "f.png"
    assert main(["rollout", "--steps", "5", "--png", str(png), "--size", "160x120"]) == 0
    img = iio.imread(png)
    assert img.shape == (120, 160, 3) and img.std() > 10


def test_unknown_command_fails(capsys):
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
