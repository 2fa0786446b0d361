"""Which page a folder gets, and writing it: ``build_report(DIR)`` (``robokit report``) and
``write_eval_report`` (the one call in ``evaluate`` after eval.json is written)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

from robokit.core import run_files as rf
from robokit.policies.report.page import Page, write_page

# kind -> the files that mark it (any one of them), checked in this order
KINDS: dict[str, tuple[str, ...]] = {
    "eval": (rf.EVAL_FILE,),
    "run": (rf.EVALS_FILE, rf.CONFIG_FILE),
    "deploy": (rf.TICKS_FILE, rf.SUMMARY_FILE),
    "sweep": (rf.STUDY_FILE, rf.BEST_FILE),
}


class ReportError(ValueError):
    """A folder no report can be built for (one line, naming what was looked for)."""


def folder_kind(folder: str | os.PathLike) -> str:
    """'eval', 'run', 'deploy' or 'sweep', from the files in ``folder``; raises ReportError otherwise."""
    path = Path(folder)
    if not path.is_dir():
        raise ReportError(f"{path}: no such folder" if not path.exists() else f"{path} is not a folder")
    for kind, names in KINDS.items():
        if any((path / name).is_file() for name in names):
            return kind
    looked = ", ".join(f"{' or '.join(names)} ({kind})" for kind, names in KINDS.items())
    raise ReportError(f"{path} holds none of the files a report is built from: {looked}")


def _builder(kind: str) -> Callable[[Path, Path], Page]:
    if kind == "eval":
        from robokit.policies.report.eval_page import eval_page

        return eval_page
    if kind == "run":
        from robokit.policies.report.run_page import run_page

        return run_page
    if kind == "deploy":
        from robokit.policies.report.deploy_page import deploy_page

        return deploy_page
    from robokit.policies.report.sweep_page import sweep_page

    return sweep_page


GENERATOR_TAG = b'<meta name="generator" content="robokit report">'  # in every page (page.html.j2)


def build_report(folder: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write the report page of ``folder`` to ``out`` (default ``folder/report.html``; plots it draws go
    beside the page) and return its path. Raises ReportError for a folder of no known kind, OSError when
    the page cannot be written. Damaged files in the folder are named on the page, not raised."""
    path = Path(folder)
    kind = folder_kind(path)
    out_path = Path(out) if out is not None else path / rf.REPORT_FILE
    if out_path.is_dir():
        raise ReportError(f"--out {out_path} is a folder; name the page's file")
    if out_path.exists() and not _is_report_page(out_path):
        raise ReportError(f"--out {out_path} exists and is not a report page: it is not written over")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    page = _builder(kind)(path, out_path.parent)
    return write_page(page, out_path)


def _is_report_page(path: Path) -> bool:
    """Whether ``path`` is a page this module wrote (its generator tag in the first 1 KiB)."""
    try:
        with path.open("rb") as f:
            return GENERATOR_TAG in f.read(1024)
    except OSError:
        return False


def write_eval_report(out_dir: str | os.PathLike) -> str | None:
    """Write ``out_dir/report.html`` for a finished evaluation and return its name; a failure is one
    warning (eval.json stays) and returns None."""
    try:
        return build_report(out_dir).name
    except Exception as exc:  # noqa: BLE001  (the report is extra: eval.json is already written)
        warnings.warn(f"report.html not written: {type(exc).__name__}: {exc}", stacklevel=2)
        return None
