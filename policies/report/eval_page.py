"""The page of an evaluation folder (``robokit eval --out DIR``): summary, videos, plots, the per-episode
table and the policy's provenance, from DIR/eval.json and the files beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robokit.core import run_files as rf
from robokit.policies.report.files import local_file, number, read_json
from robokit.policies.report.page import Page, Table, fmt, kv, robokit_version
from robokit.policies.report.provenance import provenance_pairs

MAX_TABLE_ROWS = 5000  # episodes shown in the table (the summary counts them all)
HOLDING = "median over the successful episodes"


def eval_page(folder: Path, page_dir: Path) -> Page:
    """The report page of ``folder`` (holding eval.json); links are relative to ``page_dir``."""
    problems: list[str] = []
    data = read_json(folder / rf.EVAL_FILE, problems)
    episodes = [e for e in _list(data.get("episodes")) if isinstance(e, dict)]
    agg = data.get("aggregate") if isinstance(data.get("aggregate"), dict) else {}
    if data and not agg:
        problems.append("eval.json has no aggregate: the summary is left out")
    env_id = fmt(data.get("env_id")) if data else "an evaluation"
    page = Page(
        f"Evaluation: {env_id}", "eval", f"{folder.name} · policy {fmt(data.get('policy'))}", problems
    )
    if agg:
        page.add("cards", "Summary", items=summary_cards(agg))
    _media(page, folder, data, page_dir)
    if episodes:
        page.add("table", "Episodes", table=episode_table(episodes))
    elif data:
        problems.append("eval.json lists no episodes")
    page.add(
        "kv", "Provenance", pairs=provenance_pairs(data, problems) + kv({"report by": robokit_version()})
    )
    return page


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def summary_cards(agg: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, value, detail) cards: success with its Wilson 95% interval, return, time to success,
    final distance and the holding after success."""
    n = agg.get("episodes")
    ci = agg.get("success_ci95")
    lo, hi = (number(ci[0]), number(ci[1])) if isinstance(ci, list) and len(ci) == 2 else (None, None)
    ci_text = f"95% CI {_pct(lo)}–{_pct(hi)} (Wilson), {fmt(n)} episodes"
    hold = agg.get("holding") if isinstance(agg.get("holding"), dict) else {}
    hold0 = agg.get("holding_from_first_success")
    hold0 = hold0 if isinstance(hold0, dict) else {}
    dist = number(agg.get("mean_final_distance_m"))
    return [
        ("success rate", _pct(number(agg.get("success_rate"))), ci_text),
        ("still at the goal at the end", _pct(number(agg.get("final_success_rate"))), "last step"),
        ("return", f"{fmt(agg.get('mean_return'))}", f"mean; median {fmt(agg.get('median_return'))}"),
        (
            "time to success",
            f"{fmt(agg.get('mean_time_to_success_s'))} s",
            f"mean; median {fmt(agg.get('median_time_to_success_s'))} s",
        ),
        ("final distance", "–" if dist is None else f"{100 * dist:.2f} cm", "mean over episodes"),
        (
            "holding still: tip path",
            f"{fmt(hold.get('median_tip_path_cm_per_s'))} cm/s",
            f"{HOLDING}, after settling; from the first success {fmt(hold0.get('median_tip_path_cm_per_s'))}",
        ),
        (
            "holding still: joint std",
            f"{fmt(hold.get('median_q_std_max_rad'))} rad",
            f"largest joint's, {HOLDING}; from the first success {fmt(hold0.get('median_q_std_max_rad'))}",
        ),
    ]


def _media(page: Page, folder: Path, data: dict[str, Any], page_dir: Path) -> None:
    """The videos (grid first, wide) and the plots eval.json lists, those that exist as plain files."""
    names = [v for v in _list(data.get("videos")) if isinstance(v, str)]
    names.sort(key=lambda v: not v.endswith("grid.mp4"))
    videos = []
    for name in names:
        if (url := local_file(folder, name, page_dir)) is None:
            page.problems.append(f"video {fmt(name)} is not in the folder")
            continue
        caption = "all filmed episodes" if name.endswith("grid.mp4") else Path(name).stem
        videos.append((url, caption, name.endswith("grid.mp4")))
    if videos:
        page.add("videos", "Videos", videos=videos)
    images = []
    for name in [p for p in _list(data.get("plots")) if isinstance(p, str)]:
        if (url := local_file(folder, name, page_dir)) is None:
            page.problems.append(f"plot {fmt(name)} is not in the folder")
            continue
        images.append((url, Path(name).stem))
    if images:
        page.add("images", "Plots", images=images)


EPISODE_COLUMNS = [
    ("episode", True),
    ("seed", True),
    ("success", False),
    ("at goal at end", False),
    ("return", True),
    ("length (steps)", True),
    ("time to success (s)", True),
    ("final distance (cm)", True),
    ("holding tip path (cm/s)", True),
    ("holding joint std max (rad)", True),
]


def episode_table(episodes: list[dict[str, Any]]) -> Table:
    """The per-episode table (first MAX_TABLE_ROWS episodes); numbers sort by value."""
    table = Table("episodes", EPISODE_COLUMNS)
    if len(episodes) > MAX_TABLE_ROWS:
        table.note = f"the first {MAX_TABLE_ROWS} of {len(episodes)} episodes"
    for e in episodes[:MAX_TABLE_ROWS]:
        hold = e.get("holding") if isinstance(e.get("holding"), dict) else {}
        dist = number(e.get("final_distance_m"))
        success = e.get("success") if isinstance(e.get("success"), bool) else None
        values = [e.get("episode"), e.get("seed")]
        cells = [(fmt(v), number(v)) for v in values]
        cells += [(fmt(e.get("success")), None), (fmt(e.get("final_success")), None)]
        for v in (e.get("return"), e.get("length"), e.get("time_to_success_s")):
            cells.append((fmt(v, 4), number(v)))
        cells.append(("–" if dist is None else f"{100 * dist:.2f}", None if dist is None else 100 * dist))
        for v in (hold.get("tip_path_cm_per_s"), hold.get("q_std_max_rad")):
            cells.append((fmt(v), number(v)))
        table.add(cells, success)
    return table
