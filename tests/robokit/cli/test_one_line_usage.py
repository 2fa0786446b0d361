"""Issue 9 item 11, every command's options: a bad value is one line on stderr, exit code 2, nothing
written, never a traceback. Real subprocesses of the installed ``robokit`` entry (``python -m robokit.cli``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from robokit.firmware_bridge.emulator import lock_eeprom, unlock_eeprom

LONG = "x" * 300  # a file or folder name over NAME_MAX: ENAMETOOLONG, a traceback before


def _robokit(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "robokit.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def _one_line_usage_error(proc: subprocess.CompletedProcess[str], prog: str) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"{prog}: ")
    return proc.stderr.strip()


@pytest.mark.parametrize(
    "args, prog, match",
    [
        (["nope"], "robokit", "invalid choice: 'nope'"),
        (["--bogus"], "robokit", "unrecognized arguments"),
        (["demo", "--seed", "-1"], "robokit demo", "--seed: -1 is not in"),
        (["demo", "--seed", "99999999999"], "robokit demo", "--seed: 99999999999 is not in"),
        (["demo", "--bogus"], "robokit demo", "unrecognized arguments"),
        (["emulate", "--bogus"], "robokit emulate", "unrecognized arguments"),
        (["envs", "--bogus"], "robokit envs", "unrecognized arguments"),
        (["train", "--bogus"], "robokit train", "--out"),
        (["report", "DIR", "--bogus"], "robokit report", "unrecognized arguments"),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, args: list[str], prog: str, match: str) -> None:
    line = _one_line_usage_error(_robokit(args, tmp_path), prog)
    assert match in line and "(see `" in line
    assert list(tmp_path.iterdir()) == []  # demo wrote no OUT/summary.json


@pytest.mark.parametrize(
    "args, prog",
    [
        (["train", "robokit/ServoArmReach-v0", "--out"], "robokit train"),
        (["eval", "p.safetensors", "--out"], "robokit eval"),
        (["rollout", "--png"], "robokit rollout"),
        (["demo", "--no-hardware", "--out"], "robokit demo"),
        (["emulate", "--eeprom"], "robokit emulate"),
    ],
)
@pytest.mark.parametrize(
    "value, match",
    [
        (LONG, "too long"),
        (f"sub/{LONG}", "too long"),
        ("/proc/robokit", "cannot write in /proc"),
        ("/sys/robokit", "cannot write in /sys"),
        ("loop/x", "symlink loop"),
        ("", "empty"),
    ],
)
def test_bad_paths_are_one_line_usage_errors(
    tmp_path: Path, args: list[str], prog: str, value: str, match: str
) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    if prog == "robokit rollout":
        value = value and value + ".png"
        match = "must end in .png" if value == "" else match
    if prog == "robokit train" and value == "":
        match = "--out must name a folder"  # train's own words (tests/robokit/cli/test_train_args.py)
    line = _one_line_usage_error(_robokit([*args, value], tmp_path), prog)
    assert match in line
    assert [p.name for p in tmp_path.iterdir()] == ["loop"]


def test_a_second_emulator_on_the_same_eeprom_image_is_refused(tmp_path: Path) -> None:
    image = tmp_path / "arm.eep"
    fd = lock_eeprom(image)  # as a running emulator holds it (a real flock, taken in this process)
    try:
        line = _one_line_usage_error(
            _robokit(["emulate", "--eeprom", str(image)], tmp_path), "robokit emulate"
        )
        assert "in use by another emulator" in line
    finally:
        unlock_eeprom(image, fd)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the lock file goes with its holder
    fd = lock_eeprom(image)  # free again
    unlock_eeprom(image, fd)
