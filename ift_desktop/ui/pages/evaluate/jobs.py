"""The Evaluate page's worker steps that are about showing a comparison (no Qt): they run in a worker
via ``run_in_thread``. Evaluating a base/fine-tuned pair and opening stored pairs is core work
(:mod:`ift_desktop.core.evaluation.pairing`), called by the page directly.
"""

from __future__ import annotations

from pathlib import Path

from ift_desktop.core.evaluation.report import Comparison
from ift_desktop.core.progress import TaskState


def summarize_comparison(comparison: Comparison, *, state: TaskState | None = None) -> tuple[Comparison, dict]:
    """(comparison, its intervals and paired test): the comparison comes back so late results can be told apart."""
    from ift_desktop.core.evaluation.report import summarize

    if state is not None:
        state.report(None, "Computing confidence intervals")
    return comparison, summarize(comparison, state=state)


def export_report(comparison: Comparison, path: str, summary: dict | None, *, state: TaskState | None = None) -> Path:
    from ift_desktop.core.evaluation.report_export import export_csv, export_html

    if state is not None:
        state.report(None, f"Writing {Path(path).name}")
    if str(path).lower().endswith(".csv"):
        return export_csv(comparison, path)
    return export_html(comparison, path, summary=summary)
