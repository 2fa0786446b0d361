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
import statistics
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
# holding (issue 9's thresholds, medians over the eval's episodes) and a gentle grip (RobotTaskEnv.grip_squeeze)
HOLD_TIP_CM_PER_S, HOLD_Q_STD_RAD, GENTLE_SQUEEZE = 0.5, 0.003, 0.15
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
    import gymnasium as gym
    import numpy as np
    import panda_gym  # noqa: F401
    from sb3_contrib import TQC
    from sb3_contrib.common.wrappers import TimeFeatureWrapper
    from stable_baselines3 import HerReplayBuffer
    from stable_baselines3.common.callbacks import BaseCallback

    m = machine()

    t0 = time.perf_counter()  # the budget counts from here, like robokit's wall-clock (set-up included)

    class Budget(BaseCallback):
        def _on_step(self) -> bool:
            return time.perf_counter() - t0 < budget_s

    env = TimeFeatureWrapper(gym.make(pg_env))
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
    steps = int(model.num_timesteps)
    eval_env = TimeFeatureWrapper(gym.make(pg_env))
    wins = 0
    for i in range(EVAL_EPISODES):
        obs, _ = eval_env.reset(seed=i)
        done, won = False, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, term, trunc, info = eval_env.step(action)
            won = won or bool(info["is_success"])
            done = term or trunc
        wins += won
    env.close()
    eval_env.close()
    m["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "env_id": pg_env,
        "seed": seed,
        "algo": "tqc+her (rl-zoo)",
        "budget_s": budget_s,
        "train_wall_s": round(wall, 1),
        "steps": steps,
        "steps_per_s": round(steps / wall, 2),
        "success_rate": wins / EVAL_EPISODES,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": m,
        "torch_threads": __import__("torch").get_num_threads(),
        "numpy": np.__version__,
    }


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


def _spread(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def table(data: dict) -> str:
    """The markdown table (one row per env; median and range over the seeds measured)."""
    obj = data.get("object_tasks", {})
    cells, anchors = obj.get("cells", {}), obj.get("anchors", {})
    rows = [
        "| task | arm | target | seeds measured | success, 100 held-out | `robokit train` wall s | "
        "holding: tip cm/s, joint std rad; grip squeeze | met | panda-gym TQC+HER at the budget (rl-zoo) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for env, t in TARGETS.items():
        runs = [cells[k] for s in range(t.seeds) if (k := cell_key(env, s)) in cells]
        succ = [r["success_rate"] * 100 for r in runs]
        walls = [r["train_wall_s"] for r in runs]
        held = [r["holding"] for r in runs if r["holding"].get("episodes")]
        tips = [h["median_tip_path_cm_per_s"] for h in held]
        stds = [h["median_q_std_max_rad"] for h in held]
        hold = f"{_spread(tips, '{:.2f}')}, {_spread(stds, '{:.4f}')}" if held else "-"
        squeezes = [h["median_grip_squeeze"] for h in held if h.get("median_grip_squeeze") is not None]
        if squeezes:
            hold += f"; squeeze {_spread(squeezes, '{:.2f}')}"
        met = _verdict(runs, t.seeds)
        seeds = f"{len(runs)}/{t.seeds}" + (" (one seed)" if t.seeds == 1 else "")
        rows.append(
            f"| {t.task} | {t.arm} | {t.success:.0%} in {t.budget_s / 60:.0f} min | {seeds} | "
            f"{_spread(succ, '{:.0f}%')} | {_spread(walls, '{:.0f}')} | {hold} | {met} | "
            f"{_anchor_cell_text(env, anchors, walls)} |"
        )
    return "\n".join(rows)


def holds(run: dict) -> bool:
    """The cell's policy holds still at the goal and grips gently (medians over its eval episodes)."""
    h = run["holding"]
    if not h.get("episodes"):
        return False
    squeeze = h.get("median_grip_squeeze")
    return (
        h["median_tip_path_cm_per_s"] < HOLD_TIP_CM_PER_S
        and h["median_q_std_max_rad"] < HOLD_Q_STD_RAD
        and (squeeze is None or squeeze < GENTLE_SQUEEZE)
    )


def _verdict(runs: list[dict], seeds: int) -> str:
    """ "yes" when every seed met success and budget and holds; else what is missing."""
    if any(not r["met"] for r in runs):
        return "no (success or time)"
    if any(not holds(r) for r in runs):
        return "no (holding)"
    return "yes" if len(runs) == seeds else "not yet"


def _anchor_cell_text(env: str, anchors: dict, robokit_walls: list[float]) -> str:
    pg = next((p for p, e in ANCHORS.items() if e == env), None)
    if pg is None:
        return ""
    runs = [anchors[k] for s in range(ANCHOR_SEEDS) if (k := cell_key(pg, s)) in anchors]
    if not runs:
        return f"{pg}: not measured yet"
    succ = [r["success_rate"] * 100 for r in runs]
    steps = [r["steps"] for r in runs]
    text = f"{pg}, {len(runs)} seed(s): {_spread(succ, '{:.0f}%')} after {_spread(steps, '{:.0f}')} steps"
    if robokit_walls and max(succ) < 90:
        budget = runs[0]["budget_s"]
        text += f"; speed-up > {budget / statistics.median(robokit_walls):.1f}x (budget / robokit's median)"
    return text
