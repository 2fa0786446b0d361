"""Issue 12's table: how long `robokit train ENV --out RUN` takes to give a policy that solves an object task.

One *cell* is one (env, seed): the wall-clock of the whole command as a user types it (demonstrations,
periodic evaluations and saving included; a subprocess, ``--no-progress`` only), then ``robokit eval
RUN/policy.safetensors --episodes 100`` (seeds 0-99, disjoint from training's: demonstrations use seeds
>= 2,000,000, periodic evaluations 1,000,000+). The eval's success rate and holding medians go in the
cell. An *anchor* cell is panda-gym's PandaPush-v3 / PandaPickAndPlace-v3 trained with sb3-contrib
TQC+HER at rl-baselines3-zoo's hyperparameters (TimeFeatureWrapper included) for robokit's budget on
the same machine, then 100 deterministic episodes (seeds 0-99).

Cells merge one at a time into ``benchmarks/results/time_to_solve.json`` (key ``object_tasks``), so a
long campaign can be spread over days and resumes where it stopped: a cell that is in the file is done;
an interrupted cell starts again from nothing (bc runs are not resumed, and a wall-clock made of pieces
would not be the one a user sees).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robokit.core.run_files import CONFIG_FILE, EVAL_FILE, EVALS_FILE, POLICY_FILE

RESULTS = Path(__file__).parent / "results" / "time_to_solve.json"
EVAL_EPISODES = 100


@dataclass(frozen=True)
class Target:
    task: str
    arm: str
    success: float  # success rate on 100 held-out episodes, at least
    budget_s: float  # wall-clock of `robokit train ENV --out RUN`, at most
    seeds: int  # seeds 0 .. seeds-1


TARGETS: dict[str, Target] = {  # issue 12's table, in its order
    "robokit/PandaPush-v0": Target("Push", "Panda", 0.90, 600.0, 3),
    "robokit/ServoArmPush-v0": Target("Push", "servo arm", 0.90, 600.0, 3),
    "robokit/PandaPickAndPlace-v0": Target("PickAndPlace", "Panda", 0.90, 900.0, 3),
    "robokit/ServoArmPickAndPlace-v0": Target("PickAndPlace", "servo arm", 0.90, 900.0, 3),
    "robokit/PandaSlide-v0": Target("Slide", "Panda", 0.70, 2700.0, 1),
    "robokit/PandaStack-v0": Target("Stack", "Panda", 0.80, 2700.0, 1),
}
ANCHORS: dict[str, str] = {  # panda-gym env -> the robokit env whose budget it gets
    "PandaPush-v3": "robokit/PandaPush-v0",
    "PandaPickAndPlace-v3": "robokit/PandaPickAndPlace-v0",
}
ANCHOR_SEEDS = 3
# rl-baselines3-zoo hyperparams/tqc.yml, Panda envs ("her-defaults"), as quoted in issue 12
ZOO_TQC_PANDA: dict[str, Any] = {
    "buffer_size": 1_000_000,
    "batch_size": 2048,
    "gamma": 0.95,
    "learning_rate": 1e-3,
    "tau": 0.05,
    "policy_kwargs": {"net_arch": [512, 512, 512], "n_critics": 2},
}


class CellError(RuntimeError):
    """A cell could not be measured (its command failed); the message names its log."""


def cell_key(env_id: str, seed: int) -> str:
    return f"{env_id} seed {seed}"


def load() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def merge(section: str, key: str, value: dict) -> None:
    """Write one cell into the results file (read, update, atomic replace, under a lock so that two
    queues of cells can share the file): other keys are kept."""
    import fcntl

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = load()
        obj = data.setdefault("object_tasks", {})
        obj["protocol"] = __doc__.split("\n\n")[1].replace("\n", " ")
        obj.setdefault(section, {})[key] = value
        tmp = RESULTS.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(tmp, RESULTS)


def machine() -> dict:
    """Where and on what code a cell ran (the commit of this checkout; "unknown" outside git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "commit": commit or "unknown",
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _robokit(args: list[str], log: Path) -> float:
    """Run ``robokit ARGS`` as a user would (a new process); its wall-clock in seconds. CellError on failure."""
    t0 = time.perf_counter()
    with log.open("w") as f:
        rc = subprocess.call([sys.executable, "-m", "robokit", *args], stdout=f, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    if rc != 0:
        tail = log.read_text().strip().splitlines()[-1:] or ["(no output)"]
        raise CellError(f"`robokit {' '.join(args)}` exited {rc}: {tail[0]} (log: {log})")
    return wall


def robokit_cell(env_id: str, seed: int, keep: Path | None = None) -> dict:
    """Train with the defaults, time it, evaluate 100 held-out episodes; the cell's record."""
    import yaml

    m = machine()
    work = Path(tempfile.mkdtemp(prefix="tts-cell-"))
    run = work / "run"
    try:
        wall = _robokit(
            ["train", env_id, "--out", str(run), "--seed", str(seed), "--no-progress"], work / "train.log"
        )
        _robokit(
            [
                "eval",
                str(run / POLICY_FILE),
                "--episodes",
                str(EVAL_EPISODES),
                "--out",
                str(work / "eval"),
                "--no-plot",
                "--no-progress",
            ],
            work / "eval.log",
        )
        report = json.loads((work / "eval" / EVAL_FILE).read_text())
        config = yaml.safe_load((run / CONFIG_FILE).read_text())
        evals = [json.loads(line) for line in (run / EVALS_FILE).read_text().splitlines() if line]
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copytree(work, keep / f"{env_id.split('/')[-1]}-seed{seed}", dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    a = report["aggregate"]
    target = TARGETS[env_id]
    m["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "env_id": env_id,
        "seed": seed,
        "algo": config["algo"],
        "train_wall_s": round(wall, 1),
        "steps": evals[-1]["steps"] if evals else None,
        "success_rate": a["success_rate"],
        "final_success_rate": a["final_success_rate"],
        "holding": a["holding"],
        "met": a["success_rate"] >= target.success and wall <= target.budget_s,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": m,
    }


def anchor_cell(pg_env: str, seed: int, budget_s: float) -> dict:
    """panda-gym ``pg_env`` with TQC+HER at rl-zoo's settings for ``budget_s`` of training wall-clock, then
    100 deterministic episodes (seeds 0-99; success at any step, as robokit eval counts it)."""
    import numpy as np
    import torch

    m = machine()
    model, wall = _train_anchor(pg_env, seed, budget_s)
    steps = int(model.num_timesteps)
    success = _anchor_success(model, pg_env)
    m["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "env_id": pg_env,
        "seed": seed,
        "algo": "tqc+her (rl-zoo)",
        "budget_s": budget_s,
        "train_wall_s": round(wall, 1),
        "steps": steps,
        "steps_per_s": round(steps / wall, 2),
        "success_rate": success,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": m,
        "torch_threads": torch.get_num_threads(),
        "numpy": np.__version__,
    }


def _anchor_env(pg_env: str) -> Any:
    import gymnasium as gym
    import panda_gym  # noqa: F401  (registers its ids)
    from sb3_contrib.common.wrappers import TimeFeatureWrapper

    return TimeFeatureWrapper(gym.make(pg_env))  # rl-zoo's env_wrapper for these envs


def _train_anchor(pg_env: str, seed: int, budget_s: float) -> tuple[Any, float]:
    """(the TQC model after ``budget_s`` of wall-clock, counted from before its set-up as robokit's is; the
    wall-clock in s)."""
    from sb3_contrib import TQC
    from stable_baselines3 import HerReplayBuffer
    from stable_baselines3.common.callbacks import BaseCallback

    t0 = time.perf_counter()

    class Budget(BaseCallback):
        def _on_step(self) -> bool:
            return time.perf_counter() - t0 < budget_s

    env = _anchor_env(pg_env)
    model = TQC(
        "MultiInputPolicy",
        env,
        replay_buffer_class=HerReplayBuffer,
        replay_buffer_kwargs={"goal_selection_strategy": "future", "n_sampled_goal": 4},
        seed=seed,
        device="cpu",
        verbose=0,
        **ZOO_TQC_PANDA,
    )
    model.learn(1_000_000, callback=Budget())
    wall = time.perf_counter() - t0
    env.close()
    return model, wall


def _anchor_success(model: Any, pg_env: str) -> float:
    """Success rate of ``model`` (deterministic) over EVAL_EPISODES episodes seeded 0.., counted at any step."""
    env = _anchor_env(pg_env)
    wins = 0
    for i in range(EVAL_EPISODES):
        obs, _ = env.reset(seed=i)
        done, won = False, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, term, trunc, info = env.step(action)
            won = won or bool(info["is_success"])
            done = term or trunc
        wins += won
    env.close()
    return wins / EVAL_EPISODES


def plan() -> list[tuple[str, str, int]]:
    """Every cell in the table's order: ("robokit" | "anchor", env, seed)."""
    cells = [("robokit", env, s) for env, t in TARGETS.items() for s in range(t.seeds)]
    return cells + [("anchor", env, s) for env in ANCHORS for s in range(ANCHOR_SEEDS)]


def run_cell(kind: str, env: str, seed: int, keep: Path | None = None) -> dict:
    """Measure one cell and merge it into the results file; returns its record."""
    if kind == "robokit":
        rec = robokit_cell(env, seed, keep)
        merge("cells", cell_key(env, seed), rec)
    else:
        budget = TARGETS[ANCHORS[env]].budget_s
        rec = anchor_cell(env, seed, budget)
        merge("anchors", cell_key(env, seed), rec)
    return rec


def done_keys() -> set[str]:
    obj = load().get("object_tasks", {})
    return set(obj.get("cells", {})) | set(obj.get("anchors", {}))


def args_problem(args: Any) -> str | None:
    """time_to_solve's argument combinations: --seed/--redo/--keep belong to the object cells, and a seed
    must be one the table counts. None when they make sense."""
    cell = args.env or args.anchor
    if not cell and (args.seed is not None or args.redo):
        return "--seed and --redo go with --env or --anchor"
    if args.keep is not None and not (args.env or args.all):
        return "--keep goes with --env or --all (robokit cells)"
    if (args.env or args.anchor or args.all or args.table) and (args.quick or args.skip_baselines):
        return "--quick and --skip-baselines are for the Reach comparison (no --env/--anchor/--all/--table)"
    if cell and args.seed is not None:
        n = TARGETS[args.env].seeds if args.env else ANCHOR_SEEDS
        if args.seed >= n:
            return f"{cell} is measured on seeds 0..{n - 1}; --seed {args.seed} would not count in the table"
    return None


def run_from_args(args: Any) -> None:
    """The object-task cells of time_to_solve's arguments: one (--env/--anchor), every missing one
    (--all), or the table (--table). SystemExit naming the log when a cell's command fails."""
    from object_table import table

    if args.table:
        print(table(load()))
        return
    done = done_keys()
    if args.all:
        todo = [c for c in plan() if cell_key(c[1], c[2]) not in done]
    else:
        kind, env = ("robokit", args.env) if args.env else ("anchor", args.anchor)
        todo = [(kind, env, args.seed)]
        if not args.redo and cell_key(env, args.seed) in done:
            print(f"{cell_key(env, args.seed)}: already in {RESULTS} (--redo to measure again)")
            return
    for i, (kind, env, seed) in enumerate(todo, 1):
        print(f"[{i}/{len(todo)}] {kind} {env} seed {seed} ...", flush=True)
        try:
            rec = run_cell(kind, env, seed, args.keep)
        except CellError as e:
            raise SystemExit(f"time_to_solve: {e}") from None
        print(f"    success {rec['success_rate']:.0%}, train wall {rec['train_wall_s']:.0f} s", flush=True)
    print(table(load()))
