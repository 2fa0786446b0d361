"""``robokit demo``: the whole product in a few minutes (``robokit.runtime.demo.run_demo``): train a
ServoArmReach policy, evaluate it, deploy it on the emulated arm, and print one summary (``--task push``:
ServoArmPush, deployed on a simulated arm in real time)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from robokit.cli.parser import OneLineParser, int_in
from robokit.core.run_files import SUMMARY_FILE
from robokit.paths import PathError, check_output_dir
from robokit.policies.config import SEED_MAX
from robokit.runtime.demo import DEMO_ENVS, FAST_TRAIN_STEPS

PROG = "robokit demo"


def _bus_robots() -> list[str]:
    """Robots whose folder has a `bus` section (servo-bus arms with a virtual bus)."""
    from robokit.robots import list_robots, robot_folder

    return [name for name in list_robots() if robot_folder(name).bus is not None]


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
        description=(
            "Train a ServoArmReach policy, evaluate it (success rate, video grid, plots), then run the real "
            "arm firmware in simavr and deploy the same policy file over a pseudo-terminal. With --task push: "
            "clone the scripted expert on ServoArmPush (about 5 minutes), evaluate it, and deploy it through "
            "the same deploy loop on a simulated arm in real time with the cube simulated beside it (the "
            "emulated firmware has no cube to push; on a real arm a camera would give its position)."
        ),
    )
    p.add_argument(
        "--task",
        choices=sorted(DEMO_ENVS),
        default="reach",
        help="reach (default; robokit/ServoArmReach-v0) or push (robokit/ServoArmPush-v0)",
    )
    p.add_argument(
        "--robot",
        choices=_bus_robots(),
        help="so101: train the SO-101's Reach and deploy it on its virtual Feetech servo bus (a real pty, "
        "a PyBullet SO-101 behind it) instead of the servo arm's emulated firmware",
    )
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument(
        "--fast",
        action="store_true",
        help=f"CI mode: {FAST_TRAIN_STEPS} training steps (push: 20 demonstrations, 300 gradient steps), in "
        "OUT/train-fast (OUT/train-push-fast); 20 eval episodes, short deploy",
    )
    p.add_argument(
        "--no-hardware",
        action="store_true",
        help="skip the deploy stage (the emulated arm: no avr-gcc/simavr needed)",
    )
    p.add_argument(
        "--seed",
        type=int_in(0, SEED_MAX),
        default=0,
        help=f"training and evaluation seed, 0..{SEED_MAX} (default 0)",
    )
    return p


def _out_folder(text: str) -> Path | None:
    """The output folder, created; None (after one line on stderr) if it cannot be one. Too long, under a
    file, a symlink loop, /proc: refused before anything is written."""
    try:
        out = Path(text)
        if out.exists() and not out.is_dir():
            print(
                f"{PROG}: --out {out} is an existing file; give a folder (new or existing)", file=sys.stderr
            )
            return None
    except OSError:
        pass
    try:
        out = check_output_dir(text, "--out")
        out.mkdir(parents=True, exist_ok=True)
    except PathError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return None
    except OSError as exc:
        print(f"{PROG}: cannot write to {text}: {exc.strerror or exc}", file=sys.stderr)
        return None
    return out


def main(argv: list[str]) -> int:
    """``robokit demo``; returns 0, 1 (a stage failed: said on stderr and in OUT/summary.json) or 2."""
    args = _parser().parse_args(argv)
    if args.robot is not None and args.task != "reach":
        print(
            f"{PROG}: --robot {args.robot} runs Reach; --task {args.task} is the servo arm's", file=sys.stderr
        )
        return 2
    out = _out_folder(args.out)
    if out is None:
        return 2
    from robokit.runtime.demo import StageFailed, run_demo

    try:
        report = run_demo(
            out,
            fast=args.fast,
            hardware=not args.no_hardware,
            seed=args.seed,
            task=args.task,
            robot=args.robot,
        )
    except StageFailed as exc:
        print(f"\n{PROG}: {exc}", file=sys.stderr)
        return 1
    print_summary(report, out)
    return 0


def print_summary(report: dict[str, Any], out: Path) -> None:
    """The report of ``run_demo`` as a few lines on stdout."""
    ev = report["eval"]
    agg = ev.get("aggregate", ev)
    lo, hi = agg.get("success_ci95", [float("nan"), float("nan")])
    print("\n=== robokit demo summary ===")
    print(f"policy            {report['train']['policy']}")
    print(
        f"sim success rate  {agg['success_rate'] * 100:.1f}% over {agg.get('episodes', '?')} episodes "
        f"(95% CI {lo * 100:.0f}-{hi * 100:.0f}%)"
    )
    if "final_success_rate" in agg:
        print(f"still at the goal {agg['final_success_rate'] * 100:.1f}% at the episodes' end")
    print(f"holding in sim    {_holding_text(agg.get('holding'))}")
    eval_dir = Path(ev.get("out_dir", out / "eval"))
    for key in ("videos", "plots"):
        if ev.get(key):
            print(f"{key:17s} " + ", ".join(str(eval_dir / v) for v in ev[key]))
    if "deploy" in report:
        d = report["deploy"]["summary"]
        for i, g in enumerate(d["goals"]):
            goal = ", ".join(f"{v:.3f}" for v in g["goal_m"])
            if "plant_reach_error_m" in g:
                print(
                    f"virtual bus goal {i + 1} ({goal}) m: reach error {g['reach_error_m'] * 100:.2f} cm from the "
                    f"servos' positions, {g['plant_reach_error_m'] * 100:.2f} cm from the simulated arm's tip"
                )
            elif "pulse_reach_error_m" in g:
                print(
                    f"emulated arm goal {i + 1} ({goal}) m: reach error {g['pulse_reach_error_m'] * 100:.2f} "
                    "cm (from measured pulse widths)"
                )
            else:
                from robokit.cli.deploy import goal_verdict

                print(
                    f"sim arm goal {i + 1} ({goal}) m: {d.get('task', 'push')} error (object to goal) "
                    f"{g['reach_error_m'] * 100:.2f} cm at the end; {goal_verdict(g, d.get('success_threshold_m'))}"
                    " (real-time simulated arm, as --dry-run)"
                )
        print(
            f"control loop      {d['achieved_hz']:.1f} Hz (target {d['target_hz']:g}), lateness p50 "
            f"{d['lateness_p50_ms']:.2f} ms p99 {d['lateness_p99_ms']:.2f} ms, missed deadlines "
            f"{d['missed_deadlines']}, link {report['deploy']['link']}"
        )
        print(f"holding on arm    {_holding_text((d.get('holding') or {}).get('from_settle'), 'goals')}")
        print(
            f"deploy log        {report['deploy']['log_dir']} ({Path(report['deploy']['joints_png']).name})"
        )
    print(f"summary           {out / SUMMARY_FILE} ({report['wall_s']:.0f} s in all)")


def _holding_text(h: dict[str, Any] | None, unit: str = "episodes") -> str:
    """One line of holding medians (``policies.holding.median_holding``), from 0.5 s after first success."""
    if not h or not h.get("episodes"):
        return "not measured (no success)"
    return (
        f"tip {h['median_tip_path_cm_per_s']:.3f} cm/s, joint std {h['median_q_std_max_rad']:.4f} rad "
        f"(medians over {h['episodes']} {unit}, from 0.5 s after the first success)"
    )
