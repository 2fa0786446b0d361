"""SO-101 Reach with the `robokit train` defaults, per seed: wall-clock of the whole command, the training
time until an evaluation first reached 95% (evals.jsonl), success on 100 held-out episodes
(`robokit eval`), and 10 chained goals on the virtual Feetech bus: the largest reach error from the
servos' reported positions and from the PyBullet arm's tip (issue 13: at most 1.5 cm).

    python benchmarks/so101_reach.py [--seeds 0 1 2]     # writes results/so101_reach.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from robokit.core.run_files import EVAL_FILE, EVALS_FILE, POLICY_FILE

ENV_ID = "robokit/So101Reach-v0"
RESULTS = Path(__file__).parent / "results" / "so101_reach.json"
TARGET = 0.95


def first_at_target(run: Path) -> dict | None:
    """The first evaluation row of ``run``/evals.jsonl at TARGET or above."""
    for line in (run / EVALS_FILE).read_text().splitlines():
        row = json.loads(line)
        if row["success_rate"] >= TARGET:
            return row
    return None


def one_seed(seed: int, folder: Path) -> dict:
    from robokit.runtime.demo import demo_goals
    from robokit.runtime.virtual_deploy import deploy_on_virtual_bus, reach_errors

    run = folder / f"run{seed}"
    start = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "robokit",
        "train",
        ENV_ID,
        "--out",
        str(run),
        "--seed",
        str(seed),
        "--no-progress",
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - start
    load = os.getloadavg()[0]
    cmd = [sys.executable, "-m", "robokit", "eval", str(run / POLICY_FILE), "--episodes", "100",
           "--out", str(folder / f"eval{seed}"), "--no-plot", "--no-progress"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    success = json.loads((folder / f"eval{seed}" / EVAL_FILE).read_text())["aggregate"]["success_rate"]
    goals = demo_goals(ENV_ID, seed, 10)
    outcome = deploy_on_virtual_bus(run / POLICY_FILE, "so101", goals, 2.0, folder / f"deploy{seed}")
    hit = first_at_target(run)
    return {
        "seed": seed,
        "train_wall_s": round(wall, 1),
        "train_s_to_95": hit["train_time_s"] if hit else None,
        "steps_to_95": hit["steps"] if hit else None,
        "held_out_success": success,
        **reach_errors(outcome),
        "load_average_1min_after": round(load, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            rows.append(one_seed(seed, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    walls = [r["train_wall_s"] for r in rows]
    out = {
        "env_id": ENV_ID,
        "rows": rows,
        "median_train_wall_s": statistics.median(walls),
        "train_wall_s_range": [min(walls), max(walls)],
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}))


if __name__ == "__main__":
    main()
