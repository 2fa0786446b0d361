import ast
import importlib
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import pytest

from robokit.cli import COMMANDS, DEV_COMMANDS, main

ROOT = Path(__file__).resolve().parents[3]


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
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_rollout_refuses_an_unknown_env(tmp_path, capsys):
    png = tmp_path / "f.png"
    assert main(["rollout", "robokit/Nope-v0", "--steps", "1", "--png", str(png)]) == 2
    err = capsys.readouterr().err
    assert "robokit rollout: unknown env 'robokit/Nope-v0'; known: robokit/ServoArmReach-v0" in err
    assert "(see `robokit envs`)" in err and "Traceback" not in err
    assert not png.exists()


@pytest.mark.parametrize("size", ["abc", "640x", "640x480x3", "0x480"])
def test_rollout_refuses_a_bad_size(size, tmp_path, capsys):
    png = tmp_path / "f.png"
    with pytest.raises(SystemExit) as exc:
        main(["rollout", "--size", size, "--png", str(png)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"robokit rollout: error: argument --size: '{size}'" in err and "640x480" in err
    assert not png.exists()


def test_rollout_help_states_its_defaults(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["rollout", "--help"])
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping
    assert "(default: robokit/ServoArmReach-v0;" in out and "(default: runs/rollout.png)" in out
    assert "--seed SEED seed of the reset and the random actions (default: 0)" in out


@pytest.mark.parametrize("command", [["envs"], ["--help"], ["deploy", "--help"]])
def test_a_closed_pipe_ends_quietly_without_a_traceback(command):
    """`robokit envs | head -0`: the reader is gone before robokit writes; no BrokenPipeError trace."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "robokit.cli", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # every write robokit makes now fails with EPIPE
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert proc.returncode in (0, 141)


def test_argparse_lives_only_in_the_cli_package():
    """Issue 10, point 6: a library module (robokit, envs, policies, firmware_bridge outside
    robokit/cli/) never imports argparse; each command is a module of robokit/cli/."""
    found = []
    for package in ("robokit", "envs", "policies", "firmware_bridge"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("robokit/cli/") or ".venv" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), rel)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                if "argparse" in names:
                    found.append(f"{rel}:{node.lineno}")
    assert not found, "argparse outside robokit/cli/: " + ", ".join(found)


def test_every_command_is_a_module_of_the_cli_package_with_a_main():
    for name, (module_name, _) in {**COMMANDS, **DEV_COMMANDS}.items():
        assert module_name == f"robokit.cli.{name}"
        assert callable(importlib.import_module(module_name).main)


def test_python_dash_m_robokit_is_the_same_command():
    out = subprocess.run(
        [sys.executable, "-m", "robokit", "--help"], capture_output=True, text=True, check=True
    )
    for cmd in COMMANDS:
        assert cmd in out.stdout
