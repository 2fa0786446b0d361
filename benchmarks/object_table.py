"""The object-task table of time_to_solve's results (README and docs/training.md, via tables.py): one row
per env, median and range over the seeds measured, and whether the cells meet issue 12's targets."""

from __future__ import annotations

import statistics

from object_cells import ANCHOR_SEEDS, ANCHORS, TARGETS, cell_key

# holding (issue 9's thresholds, medians over the eval's episodes) and a gentle grip (RobotTaskEnv.grip_squeeze)
HOLD_TIP_CM_PER_S, HOLD_Q_STD_RAD, GENTLE_SQUEEZE = 0.5, 0.003, 0.15


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
