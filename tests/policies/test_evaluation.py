"""Evaluation: eval.json contents, determinism across worker counts, real mp4 files, plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from robokit.policies.evaluation import aggregate, evaluate, wilson_interval
from robokit.policies.video import read_mp4


def test_eval_json_videos_and_plots(scripted_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "ev"
    report = evaluate(
        scripted_file,
        episodes=6,
        out_dir=out,
        video=True,
        video_episodes=3,
        workers=2,
        seed=7,
        width=320,
        height=240,
        progress=False,
    )
    data = json.loads((out / "eval.json").read_text())
    assert data["success_rate"] == 1.0 and data["aggregate"]["success_rate"] == 1.0
    assert len(data["episodes"]) == 6
    assert [e["seed"] for e in data["episodes"]] == [7, 8, 9, 10, 11, 12]
    for e in data["episodes"]:
        assert set(e) >= {
            "episode",
            "seed",
            "return",
            "length",
            "success",
            "final_distance_m",
            "time_to_success_s",
        }
        assert e["success"] and e["final_distance_m"] < 0.02 and 0 < e["length"] < 50
        assert e["time_to_success_s"] == e["length"] / 25.0
    lo, hi = data["aggregate"]["success_ci95"]
    assert 0.5 < lo < 1.0 and hi == pytest.approx(1.0)
    # per-episode mp4: one frame after reset + one per step, at the asked size
    for e in data["episodes"][:3]:
        n, shape = read_mp4(out / "videos" / f"episode-{e['episode']:03d}.mp4")
        assert (n, shape) == (e["length"] + 1, (240, 320))
    n, shape = read_mp4(out / "videos" / "grid.mp4")  # 2x2 of half-size tiles
    assert (n, shape) == (max(e["length"] for e in data["episodes"][:3]) + 1, (240, 320))
    assert not (out / "videos" / "episode-003.mp4").exists()
    assert (out / "joints.png").stat().st_size > 5000
    assert report["out_dir"] == str(out)


def test_workers_do_not_change_results(scripted_file: Path, tmp_path: Path) -> None:
    one = evaluate(
        scripted_file, episodes=5, out_dir=tmp_path / "a", video=False, workers=1, plot=False, progress=False
    )
    two = evaluate(
        scripted_file, episodes=5, out_dir=tmp_path / "b", video=False, workers=2, plot=False, progress=False
    )
    assert one["episodes"] == two["episodes"]


def test_default_out_dir_is_beside_the_policy(scripted_file: Path) -> None:
    report = evaluate(scripted_file, episodes=2, video=False, workers=1, plot=False, progress=False)
    out = Path(report["out_dir"])
    assert out.parent == scripted_file.parent and out.name.startswith("eval-")
    assert (out / "eval.json").is_file()


def test_aggregate_and_interval() -> None:
    eps = [
        {"success": s, "return": r, "length": n, "final_distance_m": d, "time_to_success_s": t}
        for s, r, n, d, t in [(True, -3.0, 4, 0.01, 0.16), (False, -50.0, 50, 0.2, None)]
    ]
    a = aggregate(eps)
    assert a["success_rate"] == 0.5 and a["mean_return"] == -26.5 and a["mean_time_to_success_s"] == 0.16
    lo, hi = wilson_interval(50, 100)
    assert np.isclose(lo, 0.4038, atol=1e-3) and np.isclose(hi, 0.5962, atol=1e-3)
