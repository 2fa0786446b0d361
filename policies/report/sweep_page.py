"""The page of a sweep folder (``robokit sweep --out DIR``): every trial of DIR/study.journal (state,
score, params, where it was pruned, its error), the scores over trials, the best settings (best.yaml) and
the settings every trial shared. Read from the files alone: Optuna is not needed to build it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robokit.core import run_files as rf
from robokit.core.run_files import BEST_FILE, STUDY_FILE
from robokit.policies.report.files import number, read_jsonl, read_yaml, relative_url, sub_reports
from robokit.policies.report.journal import Study, read_study
from robokit.policies.report.page import Page, Table, fmt, kv
from robokit.policies.report.report_plots import plot_sweep

SWEEP_PLOT = "report-sweep.png"
SHARED = ("env_id", "algo", "steps", "seed", "eval_every", "eval_episodes", "stop_success_rate")


def sweep_page(folder: Path, page_dir: Path) -> Page:
    """The report page of a sweep folder; the plot is written into ``page_dir``."""
    problems: list[str] = []
    study = read_study(read_jsonl(folder / STUDY_FILE, problems))
    if study.skipped:
        problems.append(f"{STUDY_FILE}: {study.skipped} operation(s) that fit no trial of the study left out")
    base = study.user_attrs.get("base") if isinstance(study.user_attrs.get("base"), dict) else {}
    best = read_yaml(folder / BEST_FILE, problems)
    page = Page(f"Sweep: {fmt(base.get('env_id'))}", "sweep", f"{folder.name} · {folder}", problems)
    page.add("cards", "Summary", items=_cards(study, base))
    scores = [
        (t.number, v) for t in study.trials if t.state == "complete" and (v := number(t.value)) is not None
    ]
    if png := plot_sweep(scores, _intermediate(study), page_dir / SWEEP_PLOT):
        page.add(
            "images", "Scores", images=[(relative_url(png, page_dir), "scores; success reported per step")]
        )
    if study.trials:
        page.add("table", "Trials", table=_trials_table(study))
    if links := sub_reports(folder, rf.CONFIG_FILE, page_dir):
        page.add("links", "Trial run pages (robokit report trial-NNNN)", links=links)
    if best:
        page.add("kv", "Best settings (best.yaml: robokit train --config)", pairs=kv(best))
    if base:
        page.add("kv", "Shared by every trial", pairs=kv({k: base.get(k) for k in SHARED if k in base}))
    return page


def _cards(study: Study, base: dict[str, Any]) -> list[tuple[str, str, str]]:
    counts: dict[str, int] = {}
    for t in study.trials:
        counts[t.state] = counts.get(t.state, 0) + 1
    scored = [
        (v, t.number) for t in study.trials if t.state == "complete" and (v := number(t.value)) is not None
    ]
    top = max(scored, default=None)
    return [
        (
            "trials",
            str(len(study.trials)),
            ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none yet",
        ),
        ("best score", "–" if top is None else f"{top[0]:.3f}", "–" if top is None else f"trial {top[1]}"),
        ("algorithm", fmt(base.get("algo")), f"{fmt(base.get('steps'))} steps per trial"),
        ("study", fmt(study.name), STUDY_FILE),
    ]


def _intermediate(study: Study) -> dict[str, list[tuple[float, float]]]:
    """Each trial's reported success rates by env step (the pruner's view), at most 12 trials."""
    out = {}
    for t in [t for t in study.trials if t.intermediate][:12]:
        pts = [(float(s), float(v)) for s, v in sorted(t.intermediate.items()) if number(v) is not None]
        out[f"trial {t.number} ({t.state})"] = pts
    return out


def _trials_table(study: Study) -> Table:
    names = sorted({k for t in study.trials for k in t.params})
    cols = [("trial", True), ("state", False), ("score", True), ("wall time (s)", True), ("last step", True)]
    cols += [
        (n, all(number(t.params.get(n)) is not None for t in study.trials if n in t.params)) for n in names
    ]
    cols += [("error", False), ("run folder", False)]
    table = Table("trials", cols)
    for t in study.trials:
        last = max(t.intermediate, default=None)
        cells = [(str(t.number), t.number), (t.state, None), (fmt(t.value, 4), number(t.value))]
        cells.append((fmt(t.user_attrs.get("wall_s")), number(t.user_attrs.get("wall_s"))))
        cells.append((fmt(last), last))
        cells += [(fmt(t.params.get(n), 4), number(t.params.get(n))) for n in names]
        run = t.user_attrs.get("run")
        name = Path(run).name if isinstance(run, str) and run else None
        cells += [(fmt(t.user_attrs.get("error")), None), (fmt(name), None)]
        table.add(cells, {"complete": True, "failed": False}.get(t.state))
    return table
