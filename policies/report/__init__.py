"""HTML reports people open in a browser: ``report.html`` beside an evaluation's eval.json, and
``build_report(DIR)`` for an evaluation, a training run, a deploy log or a sweep folder. A page works
offline and from a copied folder: relative links to its videos and images, all CSS and JS inline."""

from __future__ import annotations

from robokit.policies.report.build import ReportError, build_report, folder_kind, write_eval_report

__all__ = ["ReportError", "build_report", "folder_kind", "write_eval_report"]
