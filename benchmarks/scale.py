"""Issue 15's measurements: what a sweep trial costs beyond its training, locally and on Ray, and how fast
evaluation runs with 1 and 2 local worker processes and through Ray.

    python benchmarks/scale.py                 # -> benchmarks/results/scale.json and a table
    python benchmarks/scale.py --trials 20 --episodes 100

*Per-trial overhead*: a sweep of trials that train nothing (each reports two evaluations and returns), run
one at a time through the real driver (Optuna ask/tell on the journal file, pruning reports answered): the
local backend forks a process per trial, the Ray backend runs a Ray task per trial (Ray started here with
2 CPUs, its start timed apart). The wall time per trial is what every real trial pays on top of training.
*A tiny real trial*: the same through each backend with real training (300 steps, three evaluations of 2
episodes): a forked local process imports torch and SB3 for every trial, a Ray worker keeps them between
tasks.
*Eval episodes/s*: ``evaluate`` of the scripted ServoArmReach policy (no video, no plots), the wall time
including the workers' start, with 1 and 2 local workers and 2 Ray actors; the per-episode results of
the three runs are checked to be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from robokit.core.run_files import POLICY_FILE

RESULTS = Path(__file__).parent / "results" / "scale.json"
ENV_ID = "robokit/ServoArmReach-v0"


def null_trial(spec: Any, report: Any) -> dict[str, Any]:
    """A trial that trains nothing (defined in __main__: Ray ships it by value)."""
    rows = [{"steps": s, "success_rate": 0.5} for s in (100, 200)]
    for r in rows:
        report(r["steps"], r["success_rate"])
    return {"value": 0.5, "rows": rows, "pruned_at": None, "wall_s": 0.0}


TINY_TRAINING = {"steps": 300, "eval_every": 100, "eval_episodes": 2}  # a real trial, as small as it gets


def sweep_overhead(backend: Any, trials: int, overrides: dict[str, Any] | None = None) -> float:
    """Seconds per trial of a ``trials``-trial sweep through ``backend`` (``overrides``: the trials'
    settings; default 200 steps, which ``null_trial`` ignores)."""
    from robokit.policies.sweep import run_sweep

    overrides = overrides or {"steps": 200, "eval_every": 100}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_sweep(ENV_ID, tmp, trials, overrides=overrides, backend=backend, echo=lambda s: None)
        return (time.perf_counter() - t0) / trials


def eval_rate(policy: Path, episodes: int, workers: int, ray: str | None) -> tuple[float, list]:
    """(episodes per second, per-episode results) of one ``evaluate`` run."""
    from robokit.policies.evaluation import evaluate

    with tempfile.TemporaryDirectory() as tmp:
        r = evaluate(
            policy,
            episodes,
            Path(tmp) / "e",
            video=False,
            workers=workers,
            plot=False,
            progress=False,
            ray=ray,
        )
    return episodes / r["wall_time_s"], r["episodes"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=10, help="null trials per backend (default 10)")
    parser.add_argument("--real-trials", type=int, default=4, help="tiny real trials per backend (default 4)")
    parser.add_argument("--episodes", type=int, default=60, help="episodes per evaluation (default 60)")
    args = parser.parse_args()
    import ray

    from robokit.policies import scripted_policy
    from robokit.policies.ray_backend import RayBackend
    from robokit.policies.sweep_trial import LocalBackend

    out: dict[str, Any] = {"trials": args.trials, "real_trials": args.real_trials, "episodes": args.episodes}
    out["load_average_start"] = round(os.getloadavg()[0], 2)
    out["local_s_per_trial"] = sweep_overhead(LocalBackend(trial_fn=null_trial), args.trials)
    out["local_s_per_tiny_trial"] = sweep_overhead(LocalBackend(), args.real_trials, TINY_TRAINING)
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / POLICY_FILE
        scripted_policy(ENV_ID).save(policy)
        out["eval_eps_per_s_local_1"], first = eval_rate(policy, args.episodes, 1, None)
        out["eval_eps_per_s_local_2"], second = eval_rate(policy, args.episodes, 2, None)
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        out["ray_init_s"] = time.perf_counter() - t0
        out["ray_s_per_trial"] = sweep_overhead(RayBackend(ray, capacity=1, trial_fn=null_trial), args.trials)
        tiny = sweep_overhead(RayBackend(ray, capacity=1), args.real_trials, TINY_TRAINING)
        out["ray_s_per_tiny_trial"] = tiny
        out["eval_eps_per_s_ray_2"], third = eval_rate(policy, args.episodes, 2, "local")
        ray.shutdown()
    out["same_episodes"] = first == second == third
    out["load_average_end"] = round(os.getloadavg()[0], 2)
    out["commit"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    out["machine"] = f"{platform.node()}, {os.cpu_count()} cores"
    out["date"] = time.strftime("%Y-%m-%d")
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(table(out))


def table(d: dict[str, Any]) -> str:
    """The README's table of ``d`` (results/scale.json)."""
    rows = [
        "| measured | local | Ray (started here, 2 CPUs) |",
        "|---|---|---|",
        f"| sweep overhead per trial (a trial that trains nothing, {d['trials']} in a row) | "
        f"{d['local_s_per_trial']:.2f} s (a process each) | {d['ray_s_per_trial']:.2f} s (a task each; "
        f"Ray's start {d['ray_init_s']:.1f} s once) |",
        f"| a tiny real trial (300 steps, 3 evaluations of 2 episodes; {d.get('real_trials', 4)} in a row), "
        f"per trial | {d['local_s_per_tiny_trial']:.2f} s | {d['ray_s_per_tiny_trial']:.2f} s |",
        f"| eval episodes/s, ServoArmReach scripted, {d['episodes']} episodes, workers' start included | "
        f"1 worker {d['eval_eps_per_s_local_1']:.1f}, 2 workers {d['eval_eps_per_s_local_2']:.1f} | "
        f"2 actors {d['eval_eps_per_s_ray_2']:.1f} |",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    main()
