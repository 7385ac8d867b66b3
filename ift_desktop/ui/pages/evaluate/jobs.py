"""The Evaluate page's long work as plain functions (no Qt): they run in a worker via ``run_in_thread``.

- :func:`run_evaluations` generates and scores with the base and/or the fine-tuned model, one after
  the other, and writes each evaluation JSON as soon as it is done (so a failure of the second keeps
  the first), linking the two with a ``comparison`` record (``id``, ``role``, ``partner``).
- :func:`open_comparison` loads one or two stored evaluation files and pairs them.
- :func:`base_model_of_run` reads which base model a run was trained from.
"""

from __future__ import annotations

import time
from pathlib import Path

from ift_desktop.core.atomic import atomic_write_json
from ift_desktop.core.errors import EvaluationError
from ift_desktop.core.evaluation.report import Comparison, load_evaluation
from ift_desktop.core.progress import TaskState
from ift_desktop.core.training.run_folder import RunFolder
from ift_desktop.core.training.run_record import recorded_base_model


def base_model_of_run(run_dir: str | Path) -> str:
    """What ``ModelSpec.parse`` needs for the run's base model (``builtin`` when the record says nothing)."""
    return recorded_base_model(RunFolder(run_dir).record_or_none() or {})


def _sub_state(state: TaskState | None, lo: float, hi: float, prefix: str) -> TaskState | None:
    if state is None:
        return None

    def forward(fraction, message):
        state.report(None if fraction is None else lo + (hi - lo) * fraction, f"{prefix}: {message}")

    return TaskState(on_progress=forward, cancel_event=state.cancel_event, on_partial=state.partial)


def run_evaluations(
    *,
    jobs: list[tuple[str, str]],
    data_dir: str,
    split: str,
    limit: int | None,
    max_new_tokens: int,
    paths: dict[str, Path],
    state: TaskState | None = None,
) -> dict[str, Path]:
    """Evaluate each ``(side, model)`` of ``jobs`` and write it to ``paths[side]``; returns the written paths."""
    from ift_desktop.core.evaluation.evaluate import evaluate
    from ift_desktop.core.models.spec import ModelSpec

    if not jobs:
        raise EvaluationError("Nothing to evaluate: pick a fine-tuned run, tick the base model, or both.")
    link = f"cmp-{int(time.time())}"
    written: dict[str, Path] = {}
    sides = [side for side, _model in jobs]
    for k, (side, model) in enumerate(jobs):
        label = "Fine-tuned" if side == "tuned" else "Base"
        sub = _sub_state(state, k / len(jobs), (k + 1) / len(jobs), f"{label} ({k + 1}/{len(jobs)})")
        result = evaluate(model=ModelSpec.parse(model), data_dir=data_dir, split=split, limit=limit,
                          max_new_tokens=max_new_tokens, state=sub)
        partner = [paths[s].stem for s in sides if s != side]
        result["comparison"] = {"id": link, "role": side, "partner": partner[0] if partner else None}
        if state is not None:
            state.check_cancelled()
        written[side] = atomic_write_json(paths[side], result, indent=1)
    return written


def open_comparison(*, base: str | Path | None, tuned: str | Path | None, state: TaskState | None = None) -> Comparison:
    """Load the chosen evaluation files (either may be None) into a :class:`Comparison`."""
    if state is not None:
        state.report(None, "Opening the evaluation")
    base_eval = load_evaluation(base) if base else None
    tuned_eval = load_evaluation(tuned) if tuned else None
    return Comparison(base_eval, tuned_eval)


def summarize_comparison(comparison: Comparison, *, state: TaskState | None = None) -> tuple[Comparison, dict]:
    """(comparison, its intervals and paired test): the comparison comes back so late results can be told apart."""
    from ift_desktop.core.evaluation.report import summarize

    if state is not None:
        state.report(None, "Computing confidence intervals")
    return comparison, summarize(comparison, state=state)


def export_report(comparison: Comparison, path: str, summary: dict | None, *, state: TaskState | None = None) -> Path:
    from ift_desktop.core.evaluation.report import export_csv, export_html

    if state is not None:
        state.report(None, f"Writing {Path(path).name}")
    if str(path).lower().endswith(".csv"):
        return export_csv(comparison, path)
    return export_html(comparison, path, summary=summary)
