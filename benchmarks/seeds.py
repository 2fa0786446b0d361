"""Issue 15's multi-seed results: every Reach id and Push on both arms (Panda, servo arm), 5 seeds each,
one *cell* (env, seed) at a time, merged into ``benchmarks/results/seeds.json``.

    python benchmarks/seeds.py --list                          # the cells, and which are done
    python benchmarks/seeds.py --env robokit/PandaReach-v0 --seed 0   # one cell
    python benchmarks/seeds.py --all                           # every cell not measured yet
    python benchmarks/seeds.py --print                         # the table (median and min-max per env)

A cell is the wall-clock of ``robokit train ENV --out RUN --seed N --no-progress`` as a user runs it
(periodic evaluations, checkpoints and saving included; the env's own defaults), then ``robokit eval
RUN/policy.safetensors --episodes 100`` (seeds 0-99, held out from training's 1,000,000+). A cell in the
file is done, so a campaign resumes where it stopped; an interrupted cell starts again from nothing.
``python benchmarks/tables.py`` puts the table into the README.
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
from typing import Any

from robokit.core.run_files import EVAL_FILE, EVALS_FILE, POLICY_FILE

RESULTS = Path(__file__).parent / "results" / "seeds.json"
SEEDS = 5
EVAL_EPISODES = 100
PUSH_IDS = ("robokit/PandaPush-v0", "robokit/ServoArmPush-v0")  # Push on both arms


def env_ids() -> list[str]:
    """Every registered Reach id (from the registry: a new robot's Reach joins), then Push on both arms."""
    import gymnasium as gym

    import robokit.envs  # noqa: F401

    reach = sorted(i for i in gym.registry if i.startswith("robokit/") and "Reach" in i)
    return reach + list(PUSH_IDS)


def load() -> dict[str, Any]:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"cells": {}}


def key(env_id: str, seed: int) -> str:
    return f"{env_id}|{seed}"


def run_cell(env_id: str, seed: int) -> dict[str, Any]:
    """Train and evaluate one cell in a temporary folder; returns its record."""
    robokit = [sys.executable, "-m", "robokit"]
    load_avg = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="seeds-") as tmp:
        run = Path(tmp) / "run"
        t0 = time.perf_counter()
        cmd = [*robokit, "train", env_id, "--out", str(run), "--seed", str(seed), "--no-progress"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall_s = time.perf_counter() - t0
        rows = [json.loads(line) for line in (run / EVALS_FILE).read_text().splitlines() if line.strip()]
        cmd = [*robokit, "eval", str(run / POLICY_FILE), "--episodes", str(EVAL_EPISODES)]
        cmd += ["--out", str(run / "eval"), "--no-plot", "--no-progress"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        report = json.loads((run / "eval" / EVAL_FILE).read_text())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return {
        "env_id": env_id,
        "seed": seed,
        "wall_s": round(wall_s, 1),
        "train_time_s": rows[-1]["train_time_s"] if rows else None,
        "steps": rows[-1]["steps"] if rows else None,
        "last_eval_success": rows[-1]["success_rate"] if rows else None,
        "success_100": report["success_rate"],
        "load_average_start": round(load_avg, 2),
        "commit": commit.stdout.strip(),
        "date": time.strftime("%Y-%m-%d"),
    }


def merge(record: dict[str, Any]) -> None:
    """Add one cell to the results file (re-read first: another process may have added cells)."""
    data = load()
    data["cells"][key(record["env_id"], record["seed"])] = record
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")


def spread(values: list[float], fmt: str, unit: str = "") -> str:
    """``median (min-max)``, or the one value; ``unit`` after each number."""

    def f(v: float) -> str:
        return format(v, fmt) + unit

    if len(values) == 1:
        return f(values[0])
    return f"{f(statistics.median(values))} ({f(min(values))}-{f(max(values))})"


def table(data: dict[str, Any], ids: list[str] | None = None) -> str:
    """Markdown: per env, seeds measured, held-out success, `robokit train` wall s, steps at the end."""
    cells = list(data["cells"].values())
    ids = ids or sorted({c["env_id"] for c in cells})
    rows = [
        "| env | seeds measured | success, 100 held-out | `robokit train` wall s | steps trained |",
        "|---|---|---|---|---|",
    ]
    for env_id in ids:
        mine = [c for c in cells if c["env_id"] == env_id]
        if not mine:
            rows.append(f"| {env_id} | 0/{SEEDS} | | | |")
            continue
        success = spread([100 * c["success_100"] for c in mine], ".0f", "%")
        rows.append(
            f"| {env_id} | {len(mine)}/{SEEDS} | {success} | {spread([c['wall_s'] for c in mine], '.0f')} | "
            f"{spread([c['steps'] for c in mine if c['steps'] is not None], '.0f')} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", action="append", help="env id (repeatable; default: every cell's env)")
    parser.add_argument("--seed", type=int, action="append", help=f"seed in 0..{SEEDS - 1} (repeatable)")
    parser.add_argument("--all", action="store_true", help="every cell not measured yet")
    parser.add_argument("--list", action="store_true", help="list the cells and which are done")
    parser.add_argument("--print", action="store_true", help="print the table")
    args = parser.parse_args()
    ids = env_ids()
    wanted_ids = args.env or ids
    if unknown := sorted(set(wanted_ids) - set(ids)):
        parser.error(f"not a cell's env: {', '.join(unknown)} (see --list)")
    seeds = args.seed if args.seed is not None else list(range(SEEDS))
    todo = [(e, s) for e in wanted_ids for s in seeds if key(e, s) not in load()["cells"]]
    if args.list:
        for e in ids:
            done = [s for s in range(SEEDS) if key(e, s) in load()["cells"]]
            print(f"{e}: seeds done {done or 'none'}")
        return
    if args.print or not (args.all or args.env or args.seed is not None):
        print(table(load(), ids))
        return
    for n, (env_id, seed) in enumerate(todo, 1):
        print(f"[{n}/{len(todo)}] {env_id} seed {seed} ...", flush=True)
        record = run_cell(env_id, seed)
        merge(record)
        print(f"  {record['success_100']:.0%} held out, {record['wall_s']:.0f} s", flush=True)
    print(table(load(), ids))


if __name__ == "__main__":
    main()
