"""Trial functions for the sweep tests: quick stand-ins for a training run (they report evaluations and
return what ``run_trial`` returns) and trials that crash in the ways a real one can."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from robokit.policies.sweep_trial import Report, TrialSpec, objective


def quick_trial(spec: TrialSpec, report: Report) -> dict[str, Any]:
    """Two evaluations whose success rate grows with the learning rate (no training)."""
    rate = min(1.0, spec.settings["learning_rate"] * 300)
    rows = []
    for step in (100, 200):
        rows.append({"steps": step, "success_rate": rate * step / 200})
        if report(step, rows[-1]["success_rate"]):
            return {"value": objective(rows, 200, 100), "rows": rows, "pruned_at": step, "wall_s": 0.0}
    return {"value": objective(rows, 200, 100), "rows": rows, "pruned_at": None, "wall_s": 0.0}


def crashing_trial(spec: TrialSpec, report: Report) -> dict[str, Any]:
    """Trial 0 raises, trial 1's process is killed (SIGKILL, as the OOM killer does), the rest are quick."""
    if spec.number == 0:
        raise RuntimeError("boom in trial 0")
    if spec.number == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return quick_trial(spec, report)


def steady_trial(spec: TrialSpec, report: Report) -> dict[str, Any]:
    """Two evaluations at 50% whatever the settings: never below the median, so never pruned."""
    rows = [{"steps": step, "success_rate": 0.5} for step in (100, 200)]
    for row in rows:
        report(row["steps"], row["success_rate"])
    return {"value": 0.5, "rows": rows, "pruned_at": None, "wall_s": 0.0}


def slow_second_trial(spec: TrialSpec, report: Report) -> dict[str, Any]:
    """Trial 0 is steady; the others take a minute first (long enough to be interrupted)."""
    if spec.number > 0:
        time.sleep(60)
    return steady_trial(spec, report)


def weak_third_trial(spec: TrialSpec, report: Report) -> dict[str, Any]:
    """Trials 0 and 1 succeed 80% of the time at every evaluation, the others 10%: prunable."""
    rate = 0.8 if spec.number < 2 else 0.1
    rows = []
    for step in (100, 200):
        rows.append({"steps": step, "success_rate": rate})
        if report(step, rate):
            return {"value": objective(rows, 200, 100), "rows": rows, "pruned_at": step, "wall_s": 0.0}
    return {"value": objective(rows, 200, 100), "rows": rows, "pruned_at": None, "wall_s": 0.0}


def sleepy_trial(spec: TrialSpec, report: Report) -> dict[str, Any]:
    """A steady trial that takes half a second: two sweeps sharing a study overlap."""
    time.sleep(0.5)
    return steady_trial(spec, report)


if __name__ == "__main__":  # one of several sweep processes sharing a study (test_sweep.py)
    import sys

    from robokit.policies.sweep import run_sweep
    from robokit.policies.sweep_trial import LocalBackend

    overrides = {"steps": 200, "eval_every": 100, "eval_episodes": 2}
    backend = LocalBackend(trial_fn=sleepy_trial)
    run_sweep("robokit/ServoArmReach-v0", sys.argv[1], int(sys.argv[2]), overrides=overrides, backend=backend)
