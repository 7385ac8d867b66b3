"""Base and fine-tuned evaluated as a pair: which base belongs to a run, and the two evaluation files.

- :func:`base_model_of_run` names the base model a run was trained from (what ``ModelSpec.parse`` takes).
- :func:`pair_paths` gives each side its new file in the workspace, named after run, dataset and split.
- :func:`run_evaluations` generates and scores with the base and/or the fine-tuned model, one after
  the other, and writes each evaluation JSON as soon as it is done (so a failure of the second keeps
  the first), linking the two with a ``comparison`` record (``id``, ``role``, ``partner``).
- :func:`open_comparison` loads one or two stored evaluation files and pairs them.

The Evaluate page calls these in its worker; they hold no Qt, so a command can call them as well.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..atomic import atomic_write_json
from ..errors import EvaluationError
from ..progress import TaskState, span
from .report import Comparison, load_evaluation

SIDES = {"base": "Base", "tuned": "Fine-tuned"}


def base_model_of_run(run_dir: str | Path) -> str:
    """What ``ModelSpec.parse`` needs for the run's base model (``builtin`` when the record says nothing)."""
    from ..training.run_folder import RunFolder
    from ..training.run_record import recorded_base_model

    return recorded_base_model(RunFolder(run_dir).record_or_none() or {})


def pair_paths(
    workspace, jobs: list[tuple[str, str]], data_dir: str | Path, split: str, run_name: str | None
) -> dict[str, Path]:
    """A new evaluation file per side of ``jobs`` in ``workspace``: ``<run>-<dataset>-<split>-<side>``."""
    stem = f"{run_name}-{Path(data_dir).name}-{split}" if run_name else f"{Path(data_dir).name}-{split}"
    paths = {}
    for side, _model in jobs:
        paths[side] = workspace.new_evaluation_path(f"{stem}-{side}")
        paths[side].parent.mkdir(parents=True, exist_ok=True)
    return paths


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
    from ..models.spec import ModelSpec
    from .evaluate import evaluate

    if not jobs:
        raise EvaluationError("Nothing to evaluate: pick a fine-tuned run, tick the base model, or both.")
    link = f"cmp-{int(time.time())}"
    written: dict[str, Path] = {}
    sides = [side for side, _model in jobs]
    for k, (side, model) in enumerate(jobs):
        stage = span(state, k / len(jobs), (k + 1) / len(jobs), f"{SIDES.get(side, 'Base')} ({k + 1}/{len(jobs)})")
        result = evaluate(
            model=ModelSpec.parse(model),
            data_dir=data_dir,
            split=split,
            limit=limit,
            max_new_tokens=max_new_tokens,
            state=stage,
        )
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
