"""`robokit record` and `robokit replay` end to end on real PyBullet envs, Parquet and mp4 files: recorded
Reach episodes replay within 1e-6; bad requests are one line on stderr with exit 2 and nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from robokit.cli import main
from robokit.policies.datasets import TOLERANCE, read_dataset
from robokit.policies.video import read_mp4

ENV = "robokit/PandaReach-v0"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rec") / "reach"
    argv = ["record", ENV, "--expert", "--episodes", "3", "--out", str(out), "--seed", "11"]
    assert main([*argv, "--camera", "front", "--width", "64", "--height", "48", "--no-progress"]) == 0
    return out


def test_record_writes_a_v3_dataset_with_the_seeds_and_the_env(recorded: Path) -> None:
    ds = read_dataset(recorded)
    assert ds.info["robokit"]["env_id"] == ENV and ds.info["fps"] == 25
    assert [e["robokit/seed"] for e in ds.episodes] == [11, 12, 13]
    assert (recorded / "videos/observation.images.front/chunk-000/file-000.mp4").is_file()
    n_video, size = read_mp4(recorded / "videos/observation.images.front/chunk-000/file-000.mp4")
    assert n_video == ds.info["total_frames"] and size == (48, 64)
    assert all(ds.episode(k)["next.success"][-1] for k in range(3))  # the expert reaches every goal


@pytest.mark.parametrize("episode", [0, 1, 2])
def test_replay_reproduces_each_recorded_episode(recorded: Path, episode: int, capsys) -> None:
    assert main(["replay", str(recorded), "--episode", str(episode)]) == 0
    out = capsys.readouterr().out
    deviation = float(re.search(r"max deviation (\S+)", out).group(1))
    assert deviation <= TOLERANCE


def test_replay_writes_a_video(recorded: Path, tmp_path: Path) -> None:
    video = tmp_path / "ep1.mp4"
    assert main(["replay", str(recorded), "--episode", "1", "--video", str(video)]) == 0
    frames, size = read_mp4(video)
    assert frames == read_dataset(recorded).episodes[1]["length"] + 1 and size == (48, 64)


def test_replay_of_changed_actions_is_a_mismatch(recorded: Path, tmp_path: Path, capsys) -> None:
    import shutil

    copy = tmp_path / "changed"
    shutil.copytree(recorded, copy)
    data = copy / "data/chunk-000/file-000.parquet"
    table = pq.read_table(data)
    actions = np.array(table.column("action").to_pylist(), dtype=np.float32)
    actions[1] *= -1.0  # episode 0's second action points the other way
    fixed = pa.FixedSizeListArray.from_arrays(pa.array(actions.reshape(-1)), actions.shape[1])
    pq.write_table(table.set_column(table.column_names.index("action"), "action", fixed), data)
    assert main(["replay", str(copy), "--episode", "0"]) == 1
    captured = capsys.readouterr()
    assert "not reproduced" in captured.err
    assert float(re.search(r"max deviation (\S+)", captured.out).group(1)) > 1e-3


def _fails(argv: list[str], words: str, capsys) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own checks exit from the parser
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1, err


def test_record_refuses_a_non_empty_folder_and_keeps_it(recorded: Path, capsys) -> None:
    before = sorted(p.name for p in recorded.rglob("*"))
    _fails(["record", ENV, "--expert", "--episodes", "1", "--out", str(recorded)], "not empty", capsys)
    assert sorted(p.name for p in recorded.rglob("*")) == before


def test_record_overwrite_replaces_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    (out / "meta").mkdir(parents=True)
    (out / "meta/info.json").write_text("{}")  # a dataset (--overwrite replaces nothing else)
    (out / "old.txt").write_text("old")
    argv = ["record", "robokit/ServoArmReach-v0", "--expert", "--episodes", "1", "--out", str(out)]
    assert main([*argv, "--overwrite", "--no-progress"]) == 0
    assert not (out / "old.txt").exists() and read_dataset(out).info["total_episodes"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]  # no temporary folder left behind


@pytest.mark.parametrize(
    "args, words",
    [
        (["--camera", "back"], "invalid choice: 'back'"),
        (["--camera", "front", "--width", "65"], "must be even"),
        (["--episodes", "0"], "--episodes"),
    ],
)
def test_record_bad_requests_write_nothing(tmp_path: Path, args: list[str], words: str, capsys) -> None:
    out = tmp_path / "ds"
    argv = ["record", ENV, "--expert", "--out", str(out)]
    _fails([*argv, *(["--episodes", "1"] if "--episodes" not in args else []), *args], words, capsys)
    assert not out.exists()


def test_record_needs_an_expert_for_the_env(tmp_path: Path, capsys) -> None:
    argv = ["record", "robokit/ServoArmReachJoints-v0", "--expert", "--episodes", "1"]
    _fails([*argv, "--out", str(tmp_path / "ds")], "needs an ee_delta env", capsys)
    _fails(
        ["record", "robokit/NoSuch-v0", "--expert", "--episodes", "1", "--out", str(tmp_path)],
        "NoSuch",
        capsys,
    )


def test_replay_bad_datasets(recorded: Path, tmp_path: Path, capsys) -> None:
    from tests.policies.dataset_fixtures import write_foreign

    _fails(["replay", str(tmp_path / "none"), "--episode", "0"], "no such dataset folder", capsys)
    _fails(["replay", str(recorded), "--episode", "9"], "no episode 9", capsys)
    write_foreign(tmp_path / "foreign")
    _fails(["replay", str(tmp_path / "foreign"), "--episode", "0"], "not a robokit recording", capsys)
    info = json.loads((recorded / "meta/info.json").read_text())
    info["codebase_version"] = "v2.1"
    (tmp_path / "old").mkdir()
    (tmp_path / "old/meta").mkdir()
    (tmp_path / "old/meta/info.json").write_text(json.dumps(info))
    _fails(["replay", str(tmp_path / "old"), "--episode", "0"], "codebase_version is 'v2.1'", capsys)


def test_record_overwrite_refuses_a_folder_that_is_not_a_dataset(tmp_path: Path, capsys) -> None:
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_text("precious")
    argv = ["record", ENV, "--expert", "--episodes", "1", "--out", str(out), "--overwrite"]
    _fails(argv, "not a LeRobot dataset (no meta/info.json)", capsys)
    assert (out / "holiday.jpg").read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["photos"]


@pytest.mark.parametrize("out", [".", "..", "UP2"])
def test_record_refuses_an_out_that_holds_the_current_directory(
    tmp_path: Path, out: str, monkeypatch, capsys
) -> None:
    """Moving such a folder aside failed with "Device or resource busy" after the recording, leaving junk."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work)
    out = str(tmp_path) if out == "UP2" else out
    argv = ["record", "robokit/ServoArmReach-v0", "--expert", "--episodes", "1", "--out", out, "--overwrite"]
    _fails(argv, "holds the current directory", capsys)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["a", "a/b", "a/b/notes.txt"]


def test_record_refuses_the_root_and_home_folders(tmp_path: Path, monkeypatch) -> None:
    from robokit.policies.datasets.record import RecordError, check_out

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path)
    for out in ("/", str(tmp_path / "home"), str(tmp_path / "home") + "/sub/.."):
        with pytest.raises(RecordError, match="a root, home or mount folder"):
            check_out(Path(out), overwrite=True)
    check_out(tmp_path / "home" / "ds", overwrite=True)  # a folder below home is fine


@pytest.mark.parametrize(
    "video, words",
    [
        ("out.txt", "name an .mp4 file"),
        ("clip", "name an .mp4 file"),
        ("dir.mp4", "is a folder; name a file"),
    ],
)
def test_replay_checks_the_video_path_before_replaying(
    recorded: Path, tmp_path: Path, video: str, words: str, monkeypatch, capsys
) -> None:
    import robokit.policies.datasets as datasets

    def no_replay(*args, **kwargs):  # a fake: the check must come before any replay
        raise AssertionError("replayed before checking --video")

    monkeypatch.setattr(datasets, "replay", no_replay)
    (tmp_path / "dir.mp4").mkdir()
    _fails(["replay", str(recorded), "--episode", "0", "--video", str(tmp_path / video)], words, capsys)
    assert [p.name for p in tmp_path.iterdir()] == ["dir.mp4"]


def _set_info(root: Path, key: str, value: object) -> None:
    info = json.loads((root / "meta/info.json").read_text())
    info["robokit"][key] = value
    (root / "meta/info.json").write_text(json.dumps(info))


def _nan_action(root: Path) -> None:
    data = root / "data/chunk-000/file-000.parquet"
    table = pq.read_table(data)
    actions = np.array(table.column("action").to_pylist(), dtype=np.float32)
    actions[1, 1] = np.nan  # episode 0's frame 1
    fixed = pa.FixedSizeListArray.from_arrays(pa.array(actions.reshape(-1)), actions.shape[1])
    pq.write_table(table.set_column(table.column_names.index("action"), "action", fixed), data)


@pytest.mark.parametrize(
    "damage, words",
    [
        (_nan_action, "episode 0: the action of frame 1 is not finite (NaN or inf)"),
        (lambda r: _set_info(r, "width", "abc"), "robokit.width must be an integer in 16..1920, not 'abc'"),
        (lambda r: _set_info(r, "height", 10**9), "robokit.height must be an integer in 16..1080"),
        (lambda r: _set_info(r, "render", "yes"), "robokit.render must be true or false"),
    ],
)
def test_replay_refuses_a_recording_it_cannot_replay(
    recorded: Path, tmp_path: Path, damage, words: str, capsys
) -> None:
    """These once failed inside the env (a traceback, exit 1): NaN at env.step, a bad frame size."""
    import shutil

    copy = tmp_path / "ds"
    shutil.copytree(recorded, copy)
    damage(copy)
    _fails(["replay", str(copy), "--episode", "0"], words, capsys)


@pytest.mark.parametrize("name, code", [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_a_signal_during_record_leaves_out_as_it_was(
    recorded: Path, tmp_path: Path, name: str, code: int
) -> None:
    """SIGTERM / SIGHUP end `robokit record` as Ctrl-C does: the temporary folder goes, --out stays. The
    signal comes as the first episode is written, as the camera's FFmpeg starts (a fork: a handler that
    raised there was swallowed and the run went on)."""
    import shutil
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "ds"
    shutil.copytree(recorded, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    argv = [
        "record",
        ENV,
        "--expert",
        "--episodes",
        "5000",
        "--out",
        str(out),
        "--overwrite",
        "--no-progress",
    ]
    argv += ["--camera", "front", "--width", "64", "--height", "48"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "robokit.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".ds.recording-*/data/chunk-000/file-000.parquet")):
        assert proc.poll() is None and time.monotonic() < deadline, "the recording did not start"
        time.sleep(0.05)
    proc.send_signal(getattr(signal, name))
    _, err = proc.communicate(timeout=60)
    how = "interrupted" if name == "SIGINT" else f"stopped by {name}"
    assert proc.returncode == code and err == f"robokit record: {how}; {out} left as it was\n"
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]  # no hidden temporary folder left
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_signals_are_held_while_the_recording_moves_into_place() -> None:
    import os
    import signal

    from robokit.core.signals import signals_held as _signals_held

    before = signal.getsignal(signal.SIGTERM)
    with _signals_held() as caught:
        os.kill(os.getpid(), signal.SIGTERM)  # would end the test run if it were acted on
        os.kill(os.getpid(), signal.SIGINT)
    assert caught == [signal.SIGTERM, signal.SIGINT] and signal.getsignal(signal.SIGTERM) == before


def test_a_failed_move_keeps_the_recording_and_the_old_folder(tmp_path: Path, monkeypatch) -> None:
    """os.rename is faked to fail on the second rename (the recording into --out), as on a busy folder."""
    import importlib

    from robokit.policies.datasets import DatasetError

    record_module = importlib.import_module("robokit.policies.datasets.record")  # the name is also a function

    out, tmp = tmp_path / "ds", tmp_path / ".ds.recording-x"
    (out / "meta").mkdir(parents=True)
    (out / "meta/info.json").write_text("old")
    tmp.mkdir()
    (tmp / "new.txt").write_text("new")
    real, calls = record_module.os.rename, []

    def rename(src, dst):  # noqa: ANN001, ANN202
        calls.append(src)
        if len(calls) == 2:
            raise OSError(16, "Device or resource busy")
        return real(src, dst)

    monkeypatch.setattr(record_module.os, "rename", rename)
    with pytest.raises(
        DatasetError, match=r"Device or resource busy\); the recording is kept in .*recording-x"
    ):
        record_module._move_into_place(tmp, out)
    assert (out / "meta/info.json").read_text() == "old" and (tmp / "new.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ds.recording-x", "ds"]


def test_record_stops_before_the_next_step_when_asked(tmp_path: Path) -> None:
    from robokit.policies.datasets import RecordStopped, record

    asked: list[int] = []

    def stop() -> bool:  # true from the 5th step on
        asked.append(1)
        return len(asked) >= 5

    with pytest.raises(RecordStopped):
        record("robokit/ServoArmReach-v0", tmp_path / "ds", 50, stop=stop, progress=False)
    assert len(asked) == 5 and list(tmp_path.iterdir()) == []
