"""robokit.paths (issue 9 item 11): every path option's shared check refuses, with one line, what the
system would refuse later with a traceback; a passing check leaves nothing behind. Real files, /proc and
/sys (the tests run as root in CI, so permission bits alone would not stop a write: the checks probe)."""

from __future__ import annotations

from pathlib import Path

import pytest

from robokit.paths import PathError, check_input_file, check_output_dir, check_output_file

LONG = "x" * 300  # over NAME_MAX (255 on Linux filesystems)


@pytest.fixture
def place(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("keep")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "dangling").symlink_to(tmp_path / "nothing")
    return tmp_path


@pytest.mark.parametrize(
    "rel, match",
    [
        ("", "is empty"),
        (LONG, "too long"),
        (f"sub/{LONG}/run", "too long"),
        ("afile", "is a file"),
        ("afile/run", "is a file, not a folder"),
        ("loop", "symlink loop"),
        ("loop/run", "symlink loop"),
        ("dangling", "broken link"),
        ("/proc/robokit", "cannot write in /proc"),
        ("/sys/robokit", "cannot write in /sys"),
    ],
)
def test_bad_output_dirs_are_refused_in_one_line(place: Path, rel: str, match: str) -> None:
    before = sorted(place.iterdir())
    path = rel if rel == "" or rel.startswith("/") else str(place / rel)
    with pytest.raises(PathError, match=match) as info:
        check_output_dir(path, "--out")
    assert "\n" not in str(info.value) and str(info.value).startswith("--out")
    assert sorted(place.iterdir()) == before and (place / "afile").read_text() == "keep"


@pytest.mark.parametrize(
    "rel, match",
    [
        ("", "is empty"),
        (LONG + ".eep", "too long"),
        (".", "is a folder"),
        ("afile/x.eep", "is a file, not a folder"),
        ("loop", "symlink loop"),
        ("/proc/robokit.eep", "cannot write in /proc"),
        ("/dev/null", "not a regular file"),
    ],
)
def test_bad_output_files_are_refused_in_one_line(place: Path, rel: str, match: str) -> None:
    before = sorted(place.iterdir())
    path = rel if rel in ("", ".") or rel.startswith("/") else str(place / rel)
    with pytest.raises(PathError, match=match):
        check_output_file(path, "--eeprom")
    assert sorted(place.iterdir()) == before


def test_good_outputs_pass_and_leave_nothing_behind(place: Path) -> None:
    before = sorted(place.iterdir())
    assert check_output_dir(place / "new" / "deep", "--out") == place / "new" / "deep"
    assert check_output_dir(place, "--out") == place
    assert check_output_file(place / "new" / "x.png", "--png") == place / "new" / "x.png"
    assert check_output_file(place / "afile", "--png") == place / "afile"
    assert sorted(place.iterdir()) == before and (place / "afile").read_text() == "keep"


@pytest.mark.parametrize(
    "rel, match",
    [
        ("", "is empty"),
        (LONG, "too long"),
        ("nope", "does not exist"),
        ("loop", "symlink loop"),
        (".", "is a folder"),
    ],
)
def test_bad_input_files_are_refused(place: Path, rel: str, match: str) -> None:
    path = rel if rel in ("", ".") else str(place / rel)
    with pytest.raises(PathError, match=match):
        check_input_file(path, "--calibration")
    assert check_input_file(place / "afile", "--calibration") == place / "afile"
