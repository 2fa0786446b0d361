"""Training wall-clock until a policy first reaches >= 95% success over 100 seeded evaluation episodes.

Side by side, in one run, on this machine:
- ``robokit/PandaReach-v0`` and ``robokit/ServoArmReach-v0`` with ``robokit train`` defaults
  (only the evaluation cadence is the benchmark's: every 500 steps, 100 episodes, stop at 95%);
- panda-gym ``PandaReach-v3`` + SB3 SAC+HER with SB3 defaults, and with rl-baselines3-zoo-style tuned
  settings (net [64, 64], lr 1e-3, gamma 0.95, batch 256, tau 0.05, learning_starts 200).
Evaluation time is excluded everywhere; checkpoint writing (robokit) is included. Also measures SB3's
cost per gradient step (SAC and TD3) and per env step, which bound what any setting can reach.

Holding (issue 9, item 16): each robokit env is also trained with the unchanged ``robokit train``
defaults (their own stop rule) and the policy evaluated like ``robokit eval --episodes 100``; the
medians of how still the arm holds at the goal (tip path cm/s and the largest joint's std, rad, from
0.5 s after the first success; see robokit.policies.holding) are recorded per seed.

    python benchmarks/time_to_solve.py            # 3 seeds each (about 10 minutes)
    python benchmarks/time_to_solve.py --quick    # 1 seed, SB3-defaults baseline capped at 4000 steps;
                                                  # writes results/time_to_solve_quick.json instead

Object tasks (issue 12; one cell at a time, merged into results/time_to_solve.json; see object_cells.py):

    python benchmarks/time_to_solve.py --env robokit/PandaPush-v0 --seed 0   # one robokit cell
    python benchmarks/time_to_solve.py --anchor PandaPush-v3 --seed 0        # one panda-gym TQC+HER cell
    python benchmarks/time_to_solve.py --all       # every cell not in the file yet, in the table's order
    python benchmarks/time_to_solve.py --table     # print the object-task table
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import object_cells
import torch

import robokit.envs  # noqa: F401
from robokit.cli.parser import int_in
from robokit.policies import default_config, train
from robokit.policies.plots import read_evals

RESULTS = Path(__file__).parent / "results" / "time_to_solve.json"
TARGET, EVAL_EVERY, EVAL_EPISODES = 0.95, 500, 100


def robokit_run(env_id: str, seed: int, max_steps: int) -> dict:
    """``robokit train`` defaults; the first evaluation >= TARGET gives steps and training seconds."""
    out = Path(tempfile.mkdtemp(prefix="tts-"))
    try:
        config = default_config(
            env_id,
            out=str(out / "run"),
            seed=seed,
            eval_every=EVAL_EVERY,
            eval_episodes=EVAL_EPISODES,
            stop_success_rate=TARGET,
            stop_patience=1,
            progress=False,
        )
        config.steps = min(config.steps, max_steps)
        train(config)
        rows = read_evals(out / "run")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    hit = next((r for r in rows if r["success_rate"] >= TARGET), None)
    return {
        "seed": seed,
        "algo": config.algo,
        "solved": hit is not None,
        "steps": hit["steps"] if hit else None,
        "train_time_s": hit["train_time_s"] if hit else None,
        "curve": [[r["steps"], r["success_rate"], r["train_time_s"]] for r in rows],
    }


def holding_run(env_id: str, seed: int) -> dict:
    """``robokit train`` defaults as they are (stop rule included), then 100 eval episodes (seeds 0-99)."""
    from robokit.policies import evaluate

    out = Path(tempfile.mkdtemp(prefix="hold-"))
    try:
        config = default_config(env_id, out=str(out / "run"), seed=seed, progress=False)
        t = time.perf_counter()
        path = train(config)
        wall = time.perf_counter() - t
        rows = read_evals(out / "run")
        report = evaluate(path, episodes=100, out_dir=out / "eval", video=False, plot=False, progress=False)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    a = report["aggregate"]
    return {
        "seed": seed,
        "algo": config.algo,
        "steps": rows[-1]["steps"] if rows else None,
        "train_time_s": rows[-1]["train_time_s"] if rows else None,
        "train_wall_s": round(wall, 2),
        "eval_success_rate": a["success_rate"],
        "eval_final_success_rate": a["final_success_rate"],
        "holding": a["holding"],
        "holding_from_first_success": a["holding_from_first_success"],
    }


def summarise_holding(runs: list[dict]) -> dict:
    tips = [r["holding"]["median_tip_path_cm_per_s"] for r in runs if r["holding"]["episodes"]]
    stds = [r["holding"]["median_q_std_max_rad"] for r in runs if r["holding"]["episodes"]]
    return {
        "median_over_seeds_tip_path_cm_per_s": statistics.median(tips) if tips else None,
        "max_over_seeds_tip_path_cm_per_s": max(tips) if tips else None,
        "median_over_seeds_q_std_max_rad": statistics.median(stds) if stds else None,
        "max_over_seeds_q_std_max_rad": max(stds) if stds else None,
        "runs": runs,
    }


def panda_gym_run(seed: int, tuned: bool, max_steps: int) -> dict:
    """panda-gym PandaReach-v3 with SB3 SAC+HER, evaluated (deterministic) every EVAL_EVERY steps."""
    import panda_gym  # noqa: F401
    from stable_baselines3 import SAC, HerReplayBuffer
    from stable_baselines3.common.callbacks import BaseCallback

    env, eval_env = gym.make("PandaReach-v3"), gym.make("PandaReach-v3")
    kwargs: dict = {"replay_buffer_class": HerReplayBuffer, "seed": seed, "device": "cpu", "verbose": 0}
    if tuned:
        kwargs.update(
            policy_kwargs={"net_arch": [64, 64]},
            learning_rate=1e-3,
            gamma=0.95,
            batch_size=256,
            tau=0.05,
            learning_starts=200,
            replay_buffer_kwargs={"n_sampled_goal": 4, "goal_selection_strategy": "future"},
        )
    model = SAC("MultiInputPolicy", env, **kwargs)
    curve: list[list[float]] = []

    class Eval(BaseCallback):
        def _on_training_start(self) -> None:
            self.train_s, self.mark = 0.0, time.perf_counter()

        def _on_step(self) -> bool:
            if self.num_timesteps % EVAL_EVERY:
                return True
            self.train_s += time.perf_counter() - self.mark
            wins = 0
            for i in range(EVAL_EPISODES):
                obs, _ = eval_env.reset(seed=1_000_000 + i)
                for _ in range(50):
                    action, _ = self.model.predict(obs, deterministic=True)
                    obs, _, term, trunc, info = eval_env.step(action)
                    if term or trunc:
                        break
                wins += bool(info["is_success"])
            curve.append([self.num_timesteps, wins / EVAL_EPISODES, round(self.train_s, 3)])
            self.mark = time.perf_counter()
            return wins / EVAL_EPISODES < TARGET

    model.learn(max_steps, callback=Eval())
    env.close()
    eval_env.close()
    hit = next((c for c in curve if c[1] >= TARGET), None)
    return {
        "seed": seed,
        "algo": "sac",
        "solved": hit is not None,
        "steps": hit[0] if hit else None,
        "train_time_s": hit[2] if hit else None,
        "curve": curve,
    }


def update_costs() -> dict:
    """SB3 ms per gradient step (SAC, TD3; HER, batch 256, [64, 64], fused Adam) and ms per env step."""
    from stable_baselines3 import SAC, TD3, HerReplayBuffer

    out = {}
    for env_id in ("robokit/ServoArmReach-v0", "robokit/PandaReach-v0"):
        env = gym.make(env_id)
        env.reset(seed=0)
        t = time.perf_counter()
        for _ in range(500):
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            if term or trunc:
                env.reset()
        out[f"env_step_ms[{env_id}]"] = round((time.perf_counter() - t) / 500 * 1e3, 3)
        env.close()
    for cls in (SAC, TD3):
        model = cls(
            "MultiInputPolicy",
            gym.make("robokit/ServoArmReach-v0"),
            replay_buffer_class=HerReplayBuffer,
            learning_starts=1000,
            batch_size=256,
            device="cpu",
            seed=0,
            policy_kwargs={"net_arch": [64, 64], "optimizer_kwargs": {"fused": True}},
        )
        model.learn(1000)
        model.train(gradient_steps=20, batch_size=256)
        t = time.perf_counter()
        model.train(gradient_steps=300, batch_size=256)
        out[f"sb3_{cls.__name__.lower()}_update_ms"] = round((time.perf_counter() - t) / 300 * 1e3, 3)
        t = time.perf_counter()
        for _ in range(300):
            model.replay_buffer.sample(256)
        out["sb3_her_sample_ms"] = round((time.perf_counter() - t) / 300 * 1e3, 3)
    return out


def summarise(runs: list[dict]) -> dict:
    times = [r["train_time_s"] for r in runs if r["solved"]]
    steps = [r["steps"] for r in runs if r["solved"]]
    return {
        "solved": f"{len(times)}/{len(runs)}",
        "median_train_time_s": statistics.median(times) if times else None,
        "median_steps": statistics.median(steps) if steps else None,
        "runs": runs,
    }


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 seed; SB3-defaults baseline capped at 4000 steps"
    )
    parser.add_argument(
        "--seeds", type=int_in(1, 100), default=3, help="seeds per configuration, 1..100 (default 3)"
    )
    parser.add_argument("--skip-baselines", action="store_true", help="robokit only")
    parser.add_argument("--skip-holding", action="store_true", help="no holding runs")
    obj = parser.add_argument_group("object tasks (issue 12)").add_mutually_exclusive_group()
    obj.add_argument(
        "--env", choices=list(object_cells.TARGETS), help="measure this robokit cell (with --seed)"
    )
    obj.add_argument(
        "--anchor", choices=list(object_cells.ANCHORS), help="measure this panda-gym cell (with --seed)"
    )
    obj.add_argument("--all", action="store_true", help="measure every cell not in the results file yet")
    obj.add_argument("--table", action="store_true", help="print the object-task table from the results file")
    parser.add_argument(
        "--seed",
        type=int_in(0, 99),
        help="with --env/--anchor: the cell's seed (default 0; below the cell's seed count: 3, Slide/Stack 1)",
    )
    parser.add_argument(
        "--redo", action="store_true", help="with --env/--anchor: measure even if in the file"
    )
    parser.add_argument("--keep", type=Path, help="copy each robokit cell's run and eval folders here")
    return parser.parse_args()


def _plan(args: argparse.Namespace) -> list:
    """(name, run(seed)) per configuration: robokit's two envs, then the panda-gym baselines."""
    plan = [
        (
            "robokit/PandaReach-v0 (robokit defaults)",
            lambda s: robokit_run("robokit/PandaReach-v0", s, 20_000),
        ),
        (
            "robokit/ServoArmReach-v0 (robokit defaults)",
            lambda s: robokit_run("robokit/ServoArmReach-v0", s, 20_000),
        ),
    ]
    if not args.skip_baselines:
        plan.append(("panda-gym PandaReach-v3, SB3 SAC+HER tuned", lambda s: panda_gym_run(s, True, 20_000)))
        cap = 4_000 if args.quick else 20_000
        plan.append(("panda-gym PandaReach-v3, SB3 SAC+HER defaults", lambda s: panda_gym_run(s, False, cap)))
    return plan


def _holding(seeds: list[int]) -> dict:
    """Holding of each robokit env's policy trained with the unchanged defaults, per seed, summarised."""
    out = {}
    for env_id in ("robokit/PandaReach-v0", "robokit/ServoArmReach-v0"):
        runs = []
        for seed in seeds:
            runs.append(holding_run(env_id, seed))
            r = runs[-1]
            print(
                f"{env_id} holding seed {seed}: success={r['eval_success_rate']} "
                f"holding={r['holding']} train_s={r['train_time_s']}",
                flush=True,
            )
        out[env_id] = summarise_holding(runs)
    return out


def _print_tables(results: dict) -> None:
    print("\n| configuration | solved | median steps | median training s |\n|---|---|---|---|")
    for name, s in results["configs"].items():
        print(f"| {name} | {s['solved']} | {s['median_steps']} | {s['median_train_time_s']} |")
    for env_id, h in results.get("holding", {}).items():
        print(
            f"holding, {env_id} (robokit train defaults, 100 episodes, median over seeds): "
            f"{h['median_over_seeds_tip_path_cm_per_s']:.3f} cm/s, {h['median_over_seeds_q_std_max_rad']:.4f} rad"
        )


def main() -> None:
    args = _parse_args()
    if problem := object_cells.args_problem(args):
        print(f"time_to_solve: {problem}", file=sys.stderr)
        raise SystemExit(2)
    if args.env or args.anchor or args.all or args.table:
        if args.seed is None:
            args.seed = 0
        object_cells.run_from_args(args)
        return
    torch.set_num_threads(1)
    seeds = list(range(1 if args.quick else args.seeds))
    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "load_avg_at_start": os.getloadavg(),
        },
        "protocol": f"train until an evaluation of {EVAL_EPISODES} seeded episodes every {EVAL_EVERY} steps "
        f"reaches {TARGET:.0%}; train_time_s excludes evaluation",
        "quick": args.quick,
        "update_costs": update_costs(),
        "configs": {},
    }
    print(json.dumps(results["update_costs"], indent=1), flush=True)
    for name, fn in _plan(args):
        runs = []
        for seed in seeds:
            runs.append(fn(seed))
            r = runs[-1]
            print(
                f"{name} seed {seed}: solved={r['solved']} steps={r['steps']} train_s={r['train_time_s']}",
                flush=True,
            )
        results["configs"][name] = summarise(runs)
    if not args.skip_holding:
        results["holding"] = _holding(seeds)
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    path = RESULTS.with_name("time_to_solve_quick.json") if args.quick or args.skip_baselines else RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    if path == RESULTS and "object_tasks" in object_cells.load():  # issue 12's cells live in the same file
        results["object_tasks"] = object_cells.load()["object_tasks"]
    path.write_text(json.dumps(results, indent=1))
    _print_tables(results)
    print(f"-> {path}")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
