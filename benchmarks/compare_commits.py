"""Compare two checkouts of robokit on env_throughput and deploy_loop, interleaved in one run.

Each checkout is a folder (e.g. a ``git worktree``) with its own ``.venv`` where it is installed
(``pip install -e . --no-deps``). Every measurement is a fresh subprocess of that checkout's script
with its own interpreter, from its folder, with its own ``ROBOKIT_CACHE`` (firmware builds never mix).
Rounds alternate the order (old, new | new, old | ...): a busy spell hits both sides alike.
See docs/benchmarks.md.

A benchmark script without ``--out`` (an older commit's) writes to its default results file in its
own checkout; that file is read, then put back byte for byte as it was.

Thresholds (issue 10, point 9):
  env_throughput: median new / median old steps/s >= 0.97 per robokit row (raw PyBullet and
                  panda-gym rows run no robokit code in the timed loop: shown as noise controls).
  deploy_loop:    per rate, achieved Hz the same (|new - old| <= 1% of the target), zero missed
                  deadlines in every new run, tick-busy p99 median new <= old + max(10% of old, 0.3 ms).

    python benchmarks/compare_commits.py OLD NEW [--rounds 5] [--quick] [--out FILE]

Exit status: 0 all rows pass (always 0 with --quick: too short to judge), 1 a row fails, 2 bad input
or every run of a benchmark on one side failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "compare_commits.json"
BENCHES = ("env_throughput", "deploy_loop")
ENV_MIN_RATIO = 0.97
ACHIEVED_TOL = 0.01  # of the target rate
BUSY_REL, BUSY_ABS_MS = 0.10, 0.3
THRESHOLDS = {"env_min_ratio": ENV_MIN_RATIO, "achieved_tol_of_target": ACHIEVED_TOL}
THRESHOLDS |= {"busy_p99_rel": BUSY_REL, "busy_p99_abs_ms": BUSY_ABS_MS}
# robokit row -> its raw-PyBullet row of the same run (robokit/raw resists load: printed, not gated)
RAW_OF = {
    "robokit_PandaReach": "raw_pybullet_panda",
    "robokit_PandaReach_fast": "raw_pybullet_panda_fast",
    "robokit_ServoArmReach": "raw_pybullet_servo_arm",
}


class InputError(Exception):
    """A bad OLD/NEW folder or option: one line on stderr, exit 2."""


@dataclass
class Checkout:
    """One side of the comparison: folder, interpreter, commit, own firmware cache."""

    label: str
    root: Path
    python: Path
    commit: str
    dirty: bool
    cache: Path
    runs: dict[str, list[dict]] = field(default_factory=lambda: {b: [] for b in BENCHES})


def _git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise InputError(f"{root}: git {' '.join(args)} failed: {out.stderr.strip()[:200]}")
    return out.stdout.strip()


def open_checkout(label: str, folder: str, cache_root: Path) -> Checkout:
    """Validate a checkout folder (venv, both scripts, robokit imported from that folder).

    Raises InputError on anything missing."""
    root = Path(folder).resolve()
    python = root / ".venv" / "bin" / "python"
    if not root.is_dir():
        raise InputError(f"{label}: {folder} is not a folder")
    if not python.exists():
        raise InputError(f"{label}: {python} missing (make a venv there and pip install -e . --no-deps)")
    for bench in BENCHES:
        if not (root / "benchmarks" / f"{bench}.py").is_file():
            raise InputError(f"{label}: {root}/benchmarks/{bench}.py missing")
    probe = subprocess.run(
        [str(python), "-c", "import robokit.envs, robokit.firmware_bridge as f; print(f.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
    )
    where = Path(probe.stdout.strip() or "/")
    if probe.returncode != 0 or root not in where.resolve().parents:
        raise InputError(f"{label}: its venv does not import robokit from {root} (got {where})")
    commit = _git(root, "rev-parse", "HEAD")
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    return Checkout(label, root, python, commit, dirty, cache_root / f"{label}-{commit[:12]}")


def bench_args(bench: str, quick: bool, env_steps: int, deploy_seconds: float) -> list[str]:
    """The script's arguments: one inner round (the rounds are the subprocesses)."""
    if bench == "env_throughput":
        return ["--steps", str(200 if quick else env_steps), "--rounds", "1"]
    return ["--seconds", str(0.5 if quick else deploy_seconds)]


def run_bench(co: Checkout, bench: str, args: list[str]) -> dict:
    """Run one benchmark of one checkout in a fresh subprocess; its results JSON as a dict.

    Raises RuntimeError when the run fails or writes no results."""
    script = co.root / "benchmarks" / f"{bench}.py"
    default_out = co.root / "benchmarks" / "results" / f"{bench}.json"
    has_out = '"--out"' in script.read_text()
    before = default_out.read_bytes() if default_out.exists() else None
    env = {**os.environ, "ROBOKIT_CACHE": str(co.cache), "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{bench}.json" if has_out else default_out
        cmd = [str(co.python), str(script), *args, *(["--out", str(out)] if has_out else [])]
        try:
            proc = subprocess.run(cmd, cwd=co.root, env=env, capture_output=True, text=True)
            if proc.returncode != 0 or not out.exists():
                last = (proc.stdout.strip().splitlines() or ["(no output)"])[-1].strip()
                err = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1].strip()
                raise RuntimeError(f"exit {proc.returncode} after '{last[:60]}': {err}")
            return json.loads(out.read_text())
        finally:
            if not has_out:  # an old script wrote into its checkout: put the file back as it was
                if before is None:
                    default_out.unlink(missing_ok=True)
                else:
                    default_out.write_bytes(before)


class LoadSampler:
    """1-minute load average sampled every ``period_s`` in a background thread."""

    def __init__(self, period_s: float = 2.0) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(period_s,), daemon=True)

    def _run(self, period_s: float) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(period_s)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        s = self.samples or [os.getloadavg()[0]]
        return {"min": min(s), "median": statistics.median(s), "max": max(s), "n_samples": len(s)}


def run_one(co: Checkout, bench: str, args: list[str], retries: int) -> tuple[dict | None, list[str]]:
    """One measurement, retried up to ``retries`` times when the run fails (e.g. a deploy aborted by
    the firmware watchdog because a loaded machine stalled the host); the results (None when every
    attempt failed: the round goes on without it) and the failures."""
    failures: list[str] = []
    while len(failures) <= retries:
        try:
            return run_bench(co, bench, args), failures
        except RuntimeError as e:
            failures.append(str(e))
            print(f"  {co.label} {bench} failed: {failures[-1]}", file=sys.stderr, flush=True)
    return None, failures


def run_rounds(
    old: Checkout, new: Checkout, rounds: int, args_of: dict[str, list[str]], retries: int
) -> list[dict]:
    """All rounds, each bench old/new back to back, the order flipped every round; a log per run."""
    log = []
    for r in range(rounds):
        for bench in args_of:
            for co in (old, new) if r % 2 == 0 else (new, old):
                load0, t0 = os.getloadavg()[0], time.monotonic()
                result, failures = run_one(co, bench, args_of[bench], retries)
                if result is not None:
                    co.runs[bench].append(result)
                wall = time.monotonic() - t0
                entry = {"round": r, "bench": bench, "side": co.label, "wall_s": round(wall, 1)}
                entry |= {"load1_start": load0, "load1_end": os.getloadavg()[0], "failed_attempts": failures}
                log.append(entry | {"measured": result is not None})
                print(
                    f"round {r + 1}/{rounds} {bench:14s} {co.label}: {wall:5.1f} s, load {load0:.2f}"
                    + (f", {len(failures)} failed attempt(s)" if failures else "")
                    + ("" if result is not None else ", NOT MEASURED"),
                    flush=True,
                )
    return log


def _median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def _of_raw(runs: list[dict], case: str) -> float:
    """Median over runs of a robokit row's steps/s over its raw-PyBullet row's in the same run."""
    raw = RAW_OF.get(case)
    if raw is None or any(raw not in r["steps_per_s"] for r in runs):
        return float("nan")
    return _median([r["steps_per_s"][case] / r["steps_per_s"][raw] for r in runs])


def env_rows(old: Checkout, new: Checkout) -> list[dict]:
    """One row per env_throughput case: medians over runs, ratio of medians (gated), the paired ratio
    (runs back to back) and the ratio of the robokit/raw fractions, verdict."""
    rows = []
    o_runs, n_runs = old.runs["env_throughput"], new.runs["env_throughput"]
    for case in o_runs[0]["steps_per_s"]:
        o = [run["steps_per_s"][case] for run in o_runs]
        n = [run["steps_per_s"].get(case, float("nan")) for run in n_runs]
        ratio = _median(n) / _median(o)
        gated = case.startswith("robokit_")
        row = {"row": case, "old": o, "new": n, "old_median": _median(o), "new_median": _median(n)}
        row |= {"ratio": ratio, "paired_ratio": _median([b / a for a, b in zip(o, n)])}
        row["of_raw_ratio"] = _of_raw(n_runs, case) / _of_raw(o_runs, case)
        row["verdict"] = ("pass" if ratio >= ENV_MIN_RATIO else "FAIL") if gated else "control"
        rows.append(row)
    return rows


def deploy_rows(old: Checkout, new: Checkout) -> list[dict]:
    """One row per deploy rate: achieved Hz, missed deadlines, tick-busy p99 against the thresholds."""
    rows = []
    for hz in old.runs["deploy_loop"][0]["rates"]:
        o = [run["rates"][hz] for run in old.runs["deploy_loop"]]
        n = [run["rates"][hz] for run in new.runs["deploy_loop"]]
        ach_o, ach_n = _median([x["achieved_hz"] for x in o]), _median([x["achieved_hz"] for x in n])
        busy_o, busy_n = _median([x["busy_p99_ms"] for x in o]), _median([x["busy_p99_ms"] for x in n])
        allowed = busy_o + max(BUSY_REL * busy_o, BUSY_ABS_MS)
        missed_o, missed_n = sum(x["missed_deadlines"] for x in o), sum(x["missed_deadlines"] for x in n)
        checks = {
            "achieved_same": abs(ach_n - ach_o) <= ACHIEVED_TOL * float(hz),
            "zero_missed": missed_n == 0,
            "busy_p99_ok": busy_n <= allowed,
        }
        row = {"row": f"{hz} Hz", "old": o, "new": n, "achieved_old": ach_o, "achieved_new": ach_n}
        row |= {"missed_old": missed_o, "missed_new": missed_n, "busy_p99_old_ms": busy_o}
        row |= {"busy_p99_new_ms": busy_n, "busy_p99_allowed_ms": allowed, "checks": checks}
        rows.append(row | {"verdict": "pass" if all(checks.values()) else "FAIL"})
    return rows


def print_env(env: list[dict]) -> None:
    print(
        "\nenv_throughput, env steps/s, medians over runs; new/old = ratio of the medians (gate >= 0.97);\n"
        "paired = median of new/old run back to back; of raw = new/old of robokit / raw PyBullet in a run:"
    )
    print(f"  {'row':26s} {'old':>8s} {'new':>8s} {'new/old':>8s} {'paired':>8s} {'of raw':>8s}  verdict")
    for r in env:
        print(
            f"  {r['row']:26s} {r['old_median']:8.0f} {r['new_median']:8.0f} {r['ratio']:8.3f} "
            f"{r['paired_ratio']:8.3f} {r['of_raw_ratio']:8.3f}  {r['verdict']}"
        )


def print_deploy(deploy: list[dict]) -> None:
    print(
        "\ndeploy_loop (medians over runs; missed = sum over runs; busy p99 allowed = old + max(10%, 0.3 ms)):"
    )
    print(
        f"  {'rate':7s} {'achieved old/new Hz':>20s} {'missed old/new':>15s} "
        f"{'busy p99 old/new ms':>20s} {'new/old':>8s} {'allowed':>8s}  verdict"
    )
    for r in deploy:
        ach = f"{r['achieved_old']:.1f} / {r['achieved_new']:.1f}"
        busy = f"{r['busy_p99_old_ms']:.2f} / {r['busy_p99_new_ms']:.2f}"
        failed = [k for k, ok in r["checks"].items() if not ok]
        if not r["checks"]["zero_missed"] and r["missed_old"]:
            failed.append("old missed too")
        missed = f"{r['missed_old']} / {r['missed_new']}"
        print(
            f"  {r['row']:7s} {ach:>20s} {missed:>15s} {busy:>20s} "
            f"{r['busy_p99_new_ms'] / r['busy_p99_old_ms']:8.3f} {r['busy_p99_allowed_ms']:8.2f}  "
            f"{r['verdict']}{' (' + ', '.join(failed) + ')' if failed else ''}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("old", help="the old checkout's folder (with its own .venv)")
    parser.add_argument("new", help="the new checkout's folder (with its own .venv)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5; 1 with --quick)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run under a minute: 1 round, 200 env steps, 0.5 s per deploy rate; "
        "writes to the temp folder unless --out is given; verdicts not meaningful",
    )
    parser.add_argument("--env-steps", type=int, default=2000, help="env_throughput --steps (default 2000)")
    parser.add_argument("--deploy-seconds", type=float, default=4.0, help="deploy_loop --seconds (default 4)")
    parser.add_argument(
        "--cache-root",
        type=Path,
        default=Path.home() / ".cache" / "robokit-compare",
        help="each checkout builds its firmware in CACHE_ROOT/<old|new>-<commit>",
    )
    parser.add_argument(
        "--bench", action="append", choices=BENCHES, help="only this benchmark (repeatable; default both)"
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        help="reruns of a failed run (logged) before skipping it (default 3)",
    )
    parser.add_argument(
        "--out", type=Path, help=f"results JSON (default {RESULTS.relative_to(RESULTS.parents[2])})"
    )
    args = parser.parse_args(argv)
    args.bench = args.bench or list(BENCHES)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    bad = not 1 <= args.rounds <= 50 or not 0 <= args.retries <= 5
    if bad or args.env_steps < 10 or not 0.1 <= args.deploy_seconds <= 60:
        raise InputError("--rounds must be 1-50, --retries 0-5, --env-steps >= 10, --deploy-seconds 0.1-60")
    if args.out is None:
        args.out = Path(tempfile.gettempdir()) / "compare_commits_quick.json" if args.quick else RESULTS
    return args


def report(
    old: Checkout, new: Checkout, args: argparse.Namespace, args_of: dict, log: list[dict], load: LoadSampler
) -> dict:
    """Print the tables, retries, load and verdict; the whole comparison as a JSON-ready dict."""
    env = env_rows(old, new) if "env_throughput" in args_of else []
    deploy = deploy_rows(old, new) if "deploy_loop" in args_of else []
    for rows, show in ((env, print_env), (deploy, print_deploy)):
        if rows:
            show(rows)
    failed = [r["row"] for r in env + deploy if r["verdict"] == "FAIL"]
    verdict = "pass" if not failed else "FAIL: " + ", ".join(failed)
    retried = {f"{x['side']} {x['bench']}": 0 for x in log}
    for x in log:
        retried[f"{x['side']} {x['bench']}"] += len(x["failed_attempts"])
    print(f"\nfailed runs retried (aborted deploys count here, not in missed): {retried}")
    print(f"load average (1 min) during the run: {load.summary()}; nproc {os.cpu_count()}")
    print(f"verdict: {verdict}{' (quick run: too short to judge)' if args.quick else ''}")
    result = {
        "old": {"root": str(old.root), "commit": old.commit, "dirty": old.dirty},
        "new": {"root": str(new.root), "commit": new.commit, "dirty": new.dirty},
        "rounds": args.rounds,
        "quick": args.quick,
        "bench_args": args_of,
        "thresholds": THRESHOLDS,
        "load_average_1min": load.summary(),
        "load_samples": load.samples,
        "cpu_count": os.cpu_count(),
        "runs": log,
        "failed_runs_retried": retried,
        "env_throughput": env,
        "deploy_loop": deploy,
        "verdict": verdict,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        old = open_checkout("old", args.old, args.cache_root)
        new = open_checkout("new", args.new, args.cache_root)
    except InputError as e:
        print(f"compare_commits: {e}", file=sys.stderr)
        return 2
    for co in (old, new):
        print(f"{co.label}: {co.root} @ {co.commit[:12]}{' (uncommitted changes)' if co.dirty else ''}")
    args_of = {b: bench_args(b, args.quick, args.env_steps, args.deploy_seconds) for b in args.bench}
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with LoadSampler() as load:
        log = run_rounds(old, new, args.rounds, args_of, args.retries)
    missing = [f"{co.label} {b}" for co in (old, new) for b in args_of if not co.runs[b]]
    if missing:
        print(f"compare_commits: every run failed for {', '.join(missing)}", file=sys.stderr)
        return 2
    result = report(old, new, args, args_of, log, load)
    result["started"] = started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {args.out}")
    return 0 if args.quick or result["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
