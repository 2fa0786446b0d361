"""The page of a deploy log folder (``robokit deploy --log DIR``): the run's summary, commanded vs
reported joints, the loop's timing, reach errors per goal, and the link's counters, from ticks.jsonl and
summary.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from robokit.core import run_files as rf
from robokit.policies.report.files import local_file, number, read_json, read_jsonl, relative_url
from robokit.policies.report.page import Page, Table, fmt, kv
from robokit.policies.report.report_plots import plot_commanded_vs_reported, plot_reach_errors, plot_timing

JOINTS_PLOT, TIMING_PLOT, REACH_PLOT = "report-joints.png", "report-timing.png", "report-reach.png"
TIMING_KEYS = ("lateness_ms", "read_ms", "compute_ms", "send_ms")
MAX_PLOTTED_TICKS = 5000  # the joints plot draws every k-th tick above this


def deploy_page(folder: Path, page_dir: Path) -> Page:
    """The report page of a deploy log; plots are written into ``page_dir``."""
    problems: list[str] = []
    summary = read_json(folder / rf.SUMMARY_FILE, problems)
    ticks = read_jsonl(folder / rf.TICKS_FILE, problems)
    goals = summary.get("goals") if isinstance(summary.get("goals"), list) else []
    goals = [g for g in goals if isinstance(g, dict)]
    reason = fmt(summary.get("exit_reason")) if summary else "no summary"
    page = Page(f"Deploy log: {reason}", "deploy", f"{folder.name} · {folder}", problems)
    if summary:
        page.add("cards", "Summary", items=_cards(summary, goals))
    images = _plots(folder, page_dir, summary, ticks, goals)
    if images:
        page.add("images", "Plots", images=images)
    if goals:
        page.add("table", "Goals", table=_goals_table(goals))
    link = summary.get("link")
    if isinstance(link, dict) and link:
        page.add("kv", "Link counters", pairs=kv(link))
    elif summary:
        page.add(
            "text", "Link counters", lines=["No serial link counters (a simulated arm, or none reported)."]
        )
    page.add("kv", "Ticks", pairs=_tick_pairs(ticks))
    for key, title in (("safety_counts", "Safety: targets changed"), ("safety", "Safety envelope")):
        if isinstance(summary.get(key), dict) and summary[key]:
            page.add("kv", title, pairs=kv(summary[key]))
    notes = [fmt(n) for n in summary.get("notes", [])] if isinstance(summary.get("notes"), list) else []
    if notes:
        page.add("text", "Notes", lines=notes)
    return page


def _cards(summary: dict[str, Any], goals: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    reached = sum(1 for g in goals if g.get("reached") is True)
    hold = summary.get("holding", {}).get("from_settle") if isinstance(summary.get("holding"), dict) else None
    hold = hold if isinstance(hold, dict) else {}
    return [
        ("exit", fmt(summary.get("exit_reason")), f"{fmt(summary.get('ticks'))} ticks"),
        ("duration", f"{fmt(summary.get('duration_s'))} s", f"task {fmt(summary.get('task'))}"),
        (
            "control rate",
            f"{fmt(summary.get('achieved_hz'))} Hz",
            f"target {fmt(summary.get('target_hz'))} Hz",
        ),
        (
            "lateness p99",
            f"{fmt(summary.get('lateness_p99_ms'))} ms",
            f"p50 {fmt(summary.get('lateness_p50_ms'))}, max {fmt(summary.get('lateness_max_ms'))} ms",
        ),
        ("missed deadlines", fmt(summary.get("missed_deadlines")), "later than one period"),
        (
            "goals reached",
            f"{reached} of {len(goals)}",
            f"threshold {fmt(summary.get('success_threshold_m'))} m",
        ),
        ("holding: tip path", f"{fmt(hold.get('median_tip_path_cm_per_s'))} cm/s", "median over the goals"),
    ]


def _plots(folder: Path, page_dir: Path, summary: dict, ticks: list[dict], goals: list[dict]) -> list:
    """(url, caption) of the joints (the deploy's own joints.png when there, else drawn from the ticks),
    the loop timing and the reach errors."""
    images = []
    own = local_file(folder, rf.JOINTS_PLOT_FILE, page_dir)
    if own is not None:
        images.append((own, "commanded vs reported joints (the deploy's joints.png)"))
    elif png := _joints_plot(ticks, page_dir / JOINTS_PLOT):
        images.append((relative_url(png, page_dir), "commanded vs reported joints"))
    timing = {k: [v for r in ticks if (v := number(r.get(k))) is not None] for k in TIMING_KEYS}
    hz = number(summary.get("target_hz"))
    if png := plot_timing(timing, 1e3 / hz if hz else None, page_dir / TIMING_PLOT):
        images.append((relative_url(png, page_dir), "loop timing"))
    errors = [None if (e := number(g.get("reach_error_m"))) is None else 100 * e for g in goals]
    threshold = number(summary.get("success_threshold_m"))
    if png := plot_reach_errors(
        errors, None if threshold is None else 100 * threshold, page_dir / REACH_PLOT
    ):
        images.append((relative_url(png, page_dir), "reach error per goal"))
    return images


def _joints_plot(ticks: list[dict[str, Any]], out: Path) -> Path | None:
    """Commanded vs reported from the ticks whose q and targets are equal-length lists of numbers."""
    good = []
    for r in ticks:
        q, tg, tick = r.get("q"), r.get("targets"), number(r.get("tick"))
        shaped = isinstance(q, list) and isinstance(tg, list) and tick is not None and q and len(q) == len(tg)
        if shaped and all(number(v) is not None for v in q + tg):
            good.append((tick, tg, q))
    if good and len({len(q) for _, _, q in good}) == 1:
        good = good[:: -(-len(good) // MAX_PLOTTED_TICKS)]
        t, tg, q = (np.array(col, dtype=float) for col in zip(*good))
        return plot_commanded_vs_reported(t, tg, q, out)
    return None


def _goals_table(goals: list[dict[str, Any]]) -> Table:
    cols = [("goal", True), ("goal (m)", False), ("reached", False), ("reach error (cm)", True)]
    cols += [
        ("time to reach (s)", True),
        ("holding tip path (cm/s)", True),
        ("holding joint std max (rad)", True),
    ]
    table = Table("goals", cols)
    for i, g in enumerate(goals, 1):
        hold = g.get("holding") if isinstance(g.get("holding"), dict) else {}
        err = number(g.get("reach_error_m"))
        cells = [(str(i), i), (fmt(g.get("goal_m")), None), (fmt(g.get("reached")), None)]
        cells.append(("–" if err is None else f"{100 * err:.2f}", None if err is None else 100 * err))
        for v in (g.get("time_to_reach_s"), hold.get("tip_path_cm_per_s"), hold.get("q_std_max_rad")):
            cells.append((fmt(v), number(v)))
        table.add(cells, g.get("reached") if isinstance(g.get("reached"), bool) else None)
    return table


def _tick_pairs(ticks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Counts over the ticks: rows, commands sent, measured readings, and each flag raised."""
    flags: dict[str, int] = {}
    for r in ticks:
        for name, on in (r.get("flags") or {}).items() if isinstance(r.get("flags"), dict) else ():
            flags[str(name)] = flags.get(str(name), 0) + (1 if on else 0)
    return kv(
        [
            ("ticks logged", len(ticks)),
            ("ticks with a command sent", sum(1 for r in ticks if isinstance(r.get("targets"), list))),
            ("ticks with measured joints", sum(1 for r in ticks if r.get("q_is_measured") is True)),
            *[(f"ticks flagged {k}", v) for k, v in sorted(flags.items())],
        ]
    )
