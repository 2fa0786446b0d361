"""LeRobotDataset v3.0: robokit's writer and reader on real Parquet and mp4 files, a foreign dataset built
from the format description, damaged datasets, and LeRobot's own loader (``lerobot-dataset``) reading
what robokit wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from robokit.policies.datasets import DatasetError, read_dataset
from tests.policies.dataset_fixtures import FOREIGN_FPS, write_foreign, write_known

LENGTHS = [5, 8, 3]
CAMERA = (48, 64)  # height, width


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    root = tmp_path_factory.mktemp("known") / "ds"
    return root, write_known(root, LENGTHS, camera=CAMERA)


def test_reader_returns_the_frames_the_writer_was_given(known: tuple[Path, list]) -> None:
    root, episodes = known
    ds = read_dataset(root)
    assert ds.info["codebase_version"] == "v3.0" and ds.info["total_frames"] == sum(LENGTHS)
    assert [e["length"] for e in ds.episodes] == LENGTHS
    assert ds.tasks == {0: "known task"}
    start = 0
    for k, ep in enumerate(episodes):
        frames = ds.episode(k)
        for key in ("observation.state", "action", "next.reward", "next.done", "next.success"):
            np.testing.assert_array_equal(frames[key], ep[key])
        n = LENGTHS[k]
        np.testing.assert_array_equal(frames["frame_index"], np.arange(n))
        np.testing.assert_array_equal(frames["index"], np.arange(start, start + n))
        np.testing.assert_allclose(frames["timestamp"], np.arange(n) / 10, rtol=0, atol=1e-7)
        start += n


def test_stats_cover_every_frame(known: tuple[Path, list]) -> None:
    root, episodes = known
    stats = json.loads((root / "meta/stats.json").read_text())
    state = np.concatenate([ep["observation.state"] for ep in episodes]).astype(np.float64)
    np.testing.assert_allclose(stats["observation.state"]["mean"], state.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(stats["observation.state"]["std"], state.std(axis=0), rtol=1e-6)
    assert stats["action"]["count"] == [sum(LENGTHS)]
    assert np.shape(stats["observation.images.cam"]["mean"]) == (3, 1, 1)


def test_video_frames_decode_close_to_what_was_written(known: tuple[Path, list]) -> None:
    root, episodes = known
    ds = read_dataset(root)
    for k, ep in enumerate(episodes):
        frames = ds.video_frames("observation.images.cam", k)
        assert frames.shape == (LENGTHS[k], *CAMERA, 3)
        err = np.abs(frames.astype(int) - ep["images"]["cam"].astype(int)).mean(axis=(1, 2, 3))
        assert err.max() < 4.0  # H.264 at crf 20: a few levels; a wrong frame is off by >= 23 in red


def test_a_foreign_v3_dataset_is_read(tmp_path: Path) -> None:
    states = write_foreign(tmp_path)
    ds = read_dataset(tmp_path)
    assert ds.fps == FOREIGN_FPS and ds.tasks == {0: "task 0", 1: "task 1"}
    assert [(e["dataset_from_index"], e["dataset_to_index"]) for e in ds.episodes] == [(0, 5), (5, 12)]
    assert ds.data_file(1).name == "file-001.parquet"
    for k, state in enumerate(states):
        frames = ds.episode(k)
        np.testing.assert_array_equal(frames["observation.state"], state)
        assert frames["action"].shape == (len(state), 6)
        assert set(frames["task_index"]) == {k}


def _damage(root: Path, how: str) -> None:
    info_path = root / "meta/info.json"
    info = json.loads(info_path.read_text())
    if how == "no info":
        info_path.unlink()
    elif how == "v2.1":
        info["codebase_version"] = "v2.1"
    elif how == "escape":
        info["data_path"] = "../../outside-{chunk_index}-{file_index}.parquet"
    elif how == "truncated data":
        data = root / "data/chunk-000/file-000.parquet"
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    elif how == "truncated episodes":
        table = root / "meta/episodes/chunk-000/file-000.parquet"
        table.write_bytes(table.read_bytes()[:100])
    elif how == "not json":
        info_path.write_text("{ not json")
    elif how == "gap":
        info["total_frames"] += 1
    if how in ("v2.1", "escape", "gap"):
        info_path.write_text(json.dumps(info))


@pytest.mark.parametrize(
    "how, words",
    [
        ("no info", "meta/info.json is missing"),
        ("v2.1", "codebase_version is 'v2.1'"),
        ("escape", "outside the dataset folder"),
        ("truncated data", "not a readable Parquet file"),
        ("truncated episodes", "not a readable Parquet file"),
        ("not json", "not valid JSON"),
        ("gap", "episodes hold 10 frames, info.json says 11"),
    ],
)
def test_a_damaged_dataset_is_one_clear_error(tmp_path: Path, how: str, words: str) -> None:
    root = tmp_path / "ds"
    write_known(root, [4, 6])
    _damage(root, how)
    with pytest.raises(DatasetError) as err:
        read_dataset(root).episode(1)
    message = str(err.value)
    assert words in message and "\n" not in message


def test_a_missing_folder_and_episode_are_clear_errors(tmp_path: Path, known: tuple[Path, list]) -> None:
    with pytest.raises(DatasetError, match="no such dataset folder"):
        read_dataset(tmp_path / "nothing")
    with pytest.raises(DatasetError, match=r"no episode 3; it has episodes 0\.\.2"):
        read_dataset(known[0]).episode(3)


def test_lerobot_loader_reads_a_robokit_dataset(known: tuple[Path, list], lerobot_loader: type) -> None:
    root, episodes = known
    LeRobotDataset = lerobot_loader
    ds = LeRobotDataset(repo_id="robokit/known", root=root)
    assert len(ds) == sum(LENGTHS) and ds.num_episodes == len(LENGTHS) and ds.fps == 10
    bounds = [(int(e["dataset_from_index"]), int(e["dataset_to_index"])) for e in ds.meta.episodes]
    assert bounds == [(0, 5), (5, 13), (13, 16)]
    for k, ep in enumerate(episodes):
        for t in range(LENGTHS[k]):
            item = ds[bounds[k][0] + t]
            assert int(item["episode_index"]) == k and int(item["frame_index"]) == t
            np.testing.assert_array_equal(item["observation.state"].numpy(), ep["observation.state"][t])
            np.testing.assert_array_equal(item["action"].numpy(), ep["action"][t])
            assert bool(item["next.done"]) == bool(ep["next.done"][t]) and item["task"] == "known task"
            image = item["observation.images.cam"].numpy()  # (3, H, W) float in [0, 1]
            want = ep["images"]["cam"][t].transpose(2, 0, 1) / 255.0
            assert image.shape == (3, *CAMERA) and np.abs(image - want).mean() < 4 / 255


def test_lerobot_loader_reads_the_foreign_fixture(tmp_path: Path, lerobot_loader: type) -> None:
    """The fixture is what the format description says, as LeRobot's own loader confirms."""
    root = tmp_path / "foreign"
    states = write_foreign(root)
    LeRobotDataset = lerobot_loader
    ds = LeRobotDataset(repo_id="other/foreign", root=root)
    assert len(ds) == 12 and ds[7]["task"] == "task 1"
    np.testing.assert_array_equal(ds[7]["observation.state"].numpy(), states[1][2])


def test_robokit_reader_and_lerobot_agree_on_a_recorded_dataset(tmp_path: Path, lerobot_loader: type) -> None:
    """record -> LeRobot's loader: every frame, and the episode boundaries, as robokit's reader has them;
    each recorded action is the Reach expert's action for the recorded observation."""
    from robokit.policies.datasets import record
    from robokit.policies.experts.reach import ReachExpert

    root = tmp_path / "reach"
    record("robokit/ServoArmReach-v0", root, 2, cameras=["front"], width=64, height=48, progress=False)
    ours = read_dataset(root)
    LeRobotDataset = lerobot_loader
    ds = LeRobotDataset(repo_id="robokit/reach", root=root)
    assert len(ds) == ours.info["total_frames"]
    scale = 0.025  # ServoArmReach's ee_delta_scale_m (README env table: 2.5 cm/step)
    for k, row in enumerate(ours.episodes):
        frames, video = ours.episode(k), ours.video_frames("observation.images.front", k)
        assert frames["next.done"][-1] and not frames["next.done"][:-1].any()
        for t in range(row["length"]):
            item = ds[row["dataset_from_index"] + t]
            assert int(item["episode_index"]) == k and int(item["frame_index"]) == t
            for key in ("observation.state", "observation.desired_goal", "action"):
                np.testing.assert_array_equal(item[key].numpy(), frames[key][t])
            step = frames["observation.desired_goal"][t] - frames["observation.achieved_goal"][t].astype(
                np.float64
            )
            np.testing.assert_allclose(frames["action"][t], np.clip(step / scale, -1, 1), atol=1e-6)
            image = item["observation.images.front"].numpy().transpose(1, 2, 0) * 255.0
            assert np.abs(image - video[t]).mean() < 3.0
    assert ReachExpert.__name__ == ours.info["robokit"]["expert"]


def test_writer_refuses_a_mismatched_episode(tmp_path: Path) -> None:
    from robokit.policies.datasets import DatasetWriter

    writer = DatasetWriter(tmp_path, 10, {"action": {"dtype": "float32", "shape": [2]}}, "t")
    with pytest.raises(ValueError, match="differ from the features"):
        writer.add_episode({"state": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="no episode recorded"):
        writer.close()
    shutil.rmtree(tmp_path)


def _edit_info(change):  # noqa: ANN001, ANN202
    def edit(root: Path) -> None:
        path = root / "meta/info.json"
        info = json.loads(path.read_text())
        change(info)
        path.write_text(json.dumps(info))

    return edit


def _edit_column(relative: str, name: str, make):  # noqa: ANN001, ANN202
    """Replace column ``name`` of a Parquet file by ``make(n_rows)`` (a pyarrow array)."""

    def edit(root: Path) -> None:
        import pyarrow.parquet as pq

        table = pq.read_table(root / relative)
        table = table.set_column(table.column_names.index(name), name, make(table.num_rows))
        pq.write_table(table, root / relative)

    return edit


EPISODES = "meta/episodes/chunk-000/file-000.parquet"
DATA = "data/chunk-000/file-000.parquet"
FROM_TS = "videos/observation.images.cam/from_timestamp"


def _malformed_cases() -> dict:
    """What a tester found the reader crashed on (tracebacks, not DatasetError), and kin of each."""
    import pyarrow as pa

    def feature(key: str, **change):  # noqa: ANN202
        return _edit_info(lambda i: i["features"][key].update(change))

    def deep(root: Path) -> None:
        (root / "meta/info.json").write_text("[" * 100000 + "]" * 100000)

    return {
        "attr template": (
            _edit_info(lambda i: i.update(data_path="data/{chunk_index.real}/{file_index.foo}.parquet")),
            "data_path 'data/{chunk_index.real}/{file_index.foo}.parquet' may only use the fields",
        ),
        "index template": (
            _edit_info(lambda i: i.update(data_path="d/{0}.parquet")),
            "may only use the fields",
        ),
        "conversion template": (
            _edit_info(lambda i: i.update(video_path="v/{video_key!r}/{chunk_index}/{file_index}.mp4")),
            "video_path",
        ),
        "nested spec": (
            _edit_info(lambda i: i.update(data_path="d/{chunk_index:{file_index}}")),
            "format spec",
        ),
        "unbalanced": (_edit_info(lambda i: i.update(data_path="d/{chunk_index")), "not a valid template"),
        "dtype unknown": (feature("action", dtype="complex-thing"), "has dtype 'complex-thing'"),
        "dtype string": (feature("action", dtype="string"), "column 'action' holds fixed_size_list"),
        "dtype not text": (feature("action", dtype=5), "has dtype 5"),
        "shape huge": (feature("action", shape=[10**12]), "feature 'action' has a bad shape [1000000000000]"),
        "shape too many": (feature("action", shape=[2, 2, 2, 2, 2]), "bad shape"),
        "shape wrong": (
            feature("observation.state", shape=[5]),
            "holds values of shape (4,), info.json says (5,)",
        ),
        "deep json": (deep, "meta/info.json: nested too deeply"),
        "total huge": (
            _edit_info(lambda i: i.update(total_frames=10**30)),
            "total_frames must be an integer",
        ),
        "chunk null": (
            _edit_column(EPISODES, "data/chunk_index", lambda n: pa.array([None] * n, pa.int64())),
            "episode 0: data/chunk_index must be an integer >= 0, not None",
        ),
        "length float": (
            _edit_column(EPISODES, "length", lambda n: pa.array([5.0, 8.0, 3.0])),
            "episode 0: length must be an integer >= 1, not 5.0",
        ),
        "episode index text": (
            _edit_column(EPISODES, "episode_index", lambda n: pa.array(["0", "1", "2"])),
            "episode_index must be an integer >= 0, not '0'",
        ),
        "from_timestamp nan": (
            _edit_column(EPISODES, FROM_TS, lambda n: pa.array([float("nan")] * n)),
            "episode 1: videos/observation.images.cam/from_timestamp must be a finite time >= 0 s",
        ),
        "from_timestamp negative": (
            _edit_column(EPISODES, FROM_TS, lambda n: pa.array([-5.0] * n)),
            "from_timestamp must be a finite time >= 0 s (frame <= 2147483648), not -5.0",
        ),
        "from_timestamp huge": (
            _edit_column(EPISODES, FROM_TS, lambda n: pa.array([1e300] * n)),
            "not 1e+300",
        ),
        "action text": (
            _edit_column(DATA, "action", lambda n: pa.array(["x"] * n)),
            "holds string, not float32",
        ),
        "action ragged": (
            _edit_column(DATA, "action", lambda n: pa.array([[0.1] * (1 + i % 3) for i in range(n)])),
            "column 'action' does not fit dtype float32",
        ),
        "action null": (
            _edit_column(DATA, "action", lambda n: pa.array([None] * n, pa.list_(pa.float32(), 2))),
            "column 'action' has empty (null) values",
        ),
        "action null inside": (
            _edit_column(DATA, "action", lambda n: pa.array([[0.1, None]] * n, pa.list_(pa.float32(), 2))),
            "column 'action' has empty (null) values",
        ),
        "frame index float": (
            _edit_column(DATA, "frame_index", lambda n: pa.array([0.0] * n)),
            "column 'frame_index' holds double, not integers",
        ),
    }


@pytest.mark.parametrize("case", list(_malformed_cases()))
def test_malformed_metadata_and_tables_are_one_dataset_error(
    known: tuple[Path, list], tmp_path: Path, case: str
) -> None:
    """Each of these once escaped as AttributeError, TypeError, RecursionError or a plain ValueError."""
    damage, words = _malformed_cases()[case]
    root = tmp_path / "ds"
    shutil.copytree(known[0], root)
    damage(root)
    with pytest.raises(DatasetError) as err:
        ds = read_dataset(root)
        ds.episode(1)
        ds.video_frames("observation.images.cam", 1)
    message = str(err.value)
    assert words in message and "\n" not in message, message


def test_a_video_shorter_than_the_episode_says_which_frames_it_lacks(
    known: tuple[Path, list], tmp_path: Path
) -> None:
    root = tmp_path / "ds"
    shutil.copytree(known[0], root)
    _edit_column(EPISODES, FROM_TS, lambda n: __import__("pyarrow").array([1.0] * n))(root)  # frame 10
    with pytest.raises(DatasetError, match=r"has only 16 frames; the episode's are frames 10\.\.17"):
        read_dataset(root).video_frames("observation.images.cam", 1)
