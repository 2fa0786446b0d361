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
    out.mkdir()
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
