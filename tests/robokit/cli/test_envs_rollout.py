"""``robokit rollout`` and ``robokit envs``: every bad argument is one line and exit 2, nothing written;
``python -m robokit``; no PyBullet banner; a closed pipe is not a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import pytest

from robokit.cli import main

ROBOKIT = [sys.executable, "-m", "robokit"]


def run_main(argv: list[str]) -> int:
    """robokit.cli.main's exit code, whether it returns it or argparse raises SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def files_under(path: Path) -> list[Path]:
    return sorted(path.rglob("*"))


@pytest.mark.parametrize(
    "args,match",
    [
        (["--steps", "0"], "argument --steps: 0 steps: must be 1..100000"),
        (["--steps", "-3"], "argument --steps: -3 steps: must be 1..100000"),
        (["--steps", "1e3"], "argument --steps: '1e3' is not a whole number"),
        (["--steps", "100001"], "must be 1..100000"),
        (["--seed", "-1"], "argument --seed: -1: a seed must be >= 0"),
        (["--seed", "x"], "argument --seed: 'x' is not a whole number"),
        (["--size", "0x480"], "argument --size: '0x480': width and height must be 1..4096"),
        (["--size", "5000x10"], "width and height must be 1..4096"),
        (["--size", "6_40x480"], "is not WxH in pixels"),
        (["--size=-640x480"], "is not WxH in pixels"),
        (["--png", "{tmp}/frame.jpg"], "argument --png: '{tmp}/frame.jpg' must end in .png"),
        (["--png", "{tmp}/adir.png"], "argument --png: '{tmp}/adir.png' is a directory"),
        (["--png", "{tmp}/afile/x.png"], "'{tmp}/afile' is not a directory"),
        (
            ["--png", "/proc/robokit-rollout.png"],
            "argument --png: /proc/robokit-rollout.png: cannot write in /proc (",
        ),
        (["robokit/Nope-v0"], "unknown env 'robokit/Nope-v0'"),
        (["a", "b"], "unrecognized arguments: b"),
        (["--zero=1"], "ignored explicit argument"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_rollout_refuses_bad_arguments(args, match, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default --png (runs/rollout.png) would land here
    (tmp_path / "adir.png").mkdir()
    (tmp_path / "afile").write_text("x")
    before = files_under(tmp_path)
    argv = ["rollout", "--png", str(tmp_path / "out.png"), *[a.format(tmp=tmp_path) for a in args]]
    assert run_main(argv) == 2
    err = capsys.readouterr().err
    assert match.format(tmp=tmp_path) in err
    assert err.startswith("robokit rollout: ") and err.count("\n") == 1 and "Traceback" not in err
    assert files_under(tmp_path) == before  # nothing written, no folder created


def test_rollout_writes_the_png_whole_and_creates_its_folder(tmp_path, capsys):
    png = tmp_path / "new" / "deeper" / "f.png"
    assert run_main(["rollout", "--steps", "3", "--png", str(png), "--size", "64x48", "--zero"]) == 0
    assert iio.imread(png).shape == (48, 64, 3)
    assert files_under(tmp_path) == [tmp_path / "new", tmp_path / "new" / "deeper", png]  # no temp left
    assert capsys.readouterr().out.endswith(f"frame -> {png}\n")


@pytest.mark.parametrize("args,match", [(["extra"], "unrecognized arguments: extra"), (["--json"], "--json")])
def test_envs_refuses_arguments(args, match, capsys):
    assert run_main(["envs", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("robokit envs: error: ") and match in err and err.count("\n") == 1


def test_python_dash_m_robokit_is_the_command():
    out = subprocess.run([*ROBOKIT, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "usage: robokit" in out.stdout and "rollout" in out.stdout
    bad = subprocess.run([*ROBOKIT, "rollout", "--steps", "0"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_commands_print_no_pybullet_banner(tmp_path):
    png = tmp_path / "f.png"
    for argv in (["envs"], ["rollout", "--steps", "2", "--size", "32x24", "--png", str(png)]):
        out = subprocess.run([*ROBOKIT, *argv], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "pybullet build time" not in out.stdout + out.stderr
        assert out.stderr == ""


def test_envs_into_a_closed_pipe_is_quiet():
    """``robokit envs | head -1``: the reader leaves early; no BrokenPipeError traceback."""
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # the reader is gone before anything is written
    proc = subprocess.run([*ROBOKIT, "envs"], stdout=write_fd, stderr=subprocess.PIPE, text=True, timeout=120)
    os.close(write_fd)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr
    assert proc.returncode == 0


def test_rollout_is_a_library_function_too():
    """What `robokit rollout` runs, called from Python: the frame has the asked size, the info a distance."""
    from robokit.envs.rollout import rollout

    result = rollout("robokit/ServoArmReach-v0", steps=3, seed=1, size=(64, 48))
    assert result.frame.shape == (48, 64, 3) and result.frame.dtype.name == "uint8"
    assert result.info["distance_m"] >= 0.0 and result.ret <= 0.0
