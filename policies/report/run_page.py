"""The page of a training run folder (``robokit train --out RUN``): the periodic evaluations
(evals.jsonl) as curves and a table, the TensorBoard scalars (tb/), config.yaml and the policy file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robokit.core import run_files as rf
from robokit.policies.report.files import number, read_jsonl, read_yaml, relative_url, sub_reports
from robokit.policies.report.page import Page, Table, fmt, kv
from robokit.policies.report.provenance import policy_file_pairs
from robokit.policies.report.report_plots import MAX_TB_TAGS, plot_curves

EVALS_PLOT, TB_PLOT = "report-evals.png", "report-tensorboard.png"
EVAL_KEYS = ("success_rate", "mean_return", "mean_length", "mean_final_distance_m", "train_time_s")


def run_page(folder: Path, page_dir: Path) -> Page:
    """The report page of a run folder; plots are written into ``page_dir``."""
    problems: list[str] = []
    config = read_yaml(folder / rf.CONFIG_FILE, problems)
    evals = read_jsonl(folder / rf.EVALS_FILE, problems)
    rows = [r for r in evals if number(r.get("steps")) is not None]
    if len(rows) < len(evals):
        problems.append(f"{len(evals) - len(rows)} evals.jsonl row(s) without a step count left out")
    page = Page(f"Training run: {fmt(config.get('env_id'))}", "run", f"{folder.name} · {folder}", problems)
    if rows:
        page.add("cards", "Summary", items=_cards(rows, config))
    images = []
    curves = {
        k: [(float(r["steps"]), v) for r in rows if (v := number(r.get(k))) is not None] for k in EVAL_KEYS
    }
    if png := plot_curves(curves, "env steps", "periodic evaluations (evals.jsonl)", page_dir / EVALS_PLOT):
        images.append((relative_url(png, page_dir), "evaluations during training"))
    scalars = tb_scalars(folder / rf.TENSORBOARD_DIR, problems)
    if len(scalars) > MAX_TB_TAGS:
        problems.append(f"{len(scalars)} TensorBoard scalars: the first {MAX_TB_TAGS} are drawn")
    drawn = dict(list(sorted(scalars.items()))[:MAX_TB_TAGS])
    if png := plot_curves(drawn, "step", "TensorBoard scalars (tb/)", page_dir / TB_PLOT):
        images.append((relative_url(png, page_dir), "TensorBoard scalars"))
    if images:
        page.add("images", "Curves", images=images)
    if rows:
        page.add("table", "Evaluations", table=_evals_table(rows))
    if scalars:
        last = [
            (tag, f"{fmt(pts[-1][1], 4)} at step {fmt(int(pts[-1][0]))}")
            for tag, pts in scalars.items()
            if pts
        ]
        page.add("kv", "TensorBoard scalars: last values", pairs=sorted(last))
    if config:
        page.add("kv", "Training settings (config.yaml)", pairs=kv(config))
    if links := sub_reports(folder, rf.EVAL_FILE, page_dir):
        page.add("links", "Evaluations of this run's policy", links=links)
    policy = folder / rf.POLICY_FILE
    if policy.is_file():
        page.add(
            "kv", "Policy file", pairs=[("file", str(policy)), *policy_file_pairs(str(policy), problems)]
        )
    else:
        problems.append(f"no {rf.POLICY_FILE} in the run folder (the run has not finished or was moved)")
    return page


def _cards(rows: list[dict[str, Any]], config: dict[str, Any]) -> list[tuple[str, str, str]]:
    last = rows[-1]
    rates = [(v, r["steps"]) for r in rows if (v := number(r.get("success_rate"))) is not None]
    best = max(rates, default=(None, None), key=lambda t: t[0])
    pct = "–" if number(last.get("success_rate")) is None else f"{100 * float(last['success_rate']):.0f}%"
    return [
        ("last evaluation: success", pct, f"at {fmt(last.get('steps'))} steps"),
        ("best success", "–" if best[0] is None else f"{100 * best[0]:.0f}%", f"at {fmt(best[1])} steps"),
        ("train time", f"{fmt(last.get('train_time_s'))} s", "at the last evaluation"),
        ("algorithm", fmt(config.get("algo")), f"{fmt(config.get('steps'))} steps planned"),
        ("evaluations", str(len(rows)), f"{fmt(config.get('eval_episodes'))} episodes each"),
    ]


def _evals_table(rows: list[dict[str, Any]]) -> Table:
    keys = ("steps", *EVAL_KEYS)
    table = Table("evaluations", [(k.replace("_", " "), True) for k in keys])
    for r in rows:
        table.add([(fmt(r.get(k), 4), number(r.get(k))) for k in keys])
    return table


def tb_scalars(tb_dir: Path, problems: list[str]) -> dict[str, list[tuple[float, float]]]:
    """Every scalar tag of the event files under ``tb_dir`` as (step, value) points, the tag prefixed
    with its run folder when there are several; {} (and a problem) when there are none or they are
    damaged."""
    if not tb_dir.is_dir():
        problems.append(f"no {rf.TENSORBOARD_DIR}/ folder: no TensorBoard scalars")
        return {}
    runs = sorted({p.parent for p in tb_dir.rglob("events.out.tfevents.*") if p.is_file()})
    out: dict[str, list[tuple[float, float]]] = {}
    for run in runs:
        prefix = "" if len(runs) == 1 else f"{run.relative_to(tb_dir).as_posix()}: "
        try:
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

            acc = EventAccumulator(str(run), size_guidance={"scalars": 10_000})
            acc.Reload()
            for tag in acc.Tags().get("scalars", []):
                points = [(float(e.step), float(e.value)) for e in acc.Scalars(tag)]
                out[prefix + str(tag)] = [p for p in points if all(number(x) is not None for x in p)]
        except Exception as exc:  # noqa: BLE001  (a damaged or foreign event file is a note)
            problems.append(f"TensorBoard events in {run.name} could not be read: {type(exc).__name__}")
    if not runs:
        problems.append(f"{rf.TENSORBOARD_DIR}/ holds no event files")
    elif not out:
        problems.append(
            f"the event files in {rf.TENSORBOARD_DIR}/ hold no scalars (damaged, or nothing logged)"
        )
    return out
