"""The settings of a held-out check, validated in one place with one wording.

Shots, the item limit, MMLU subjects and label words are checked here for every caller: the
forgetting checks (:mod:`.forgetting`, built by the tab and the ``forgetting`` command), the scorers
themselves (:func:`.mmlu.run_mmlu`, :func:`.classification.run_classification`) and ``benchmark``.
Messages name the setting as the GUI shows it; the CLI's flags carry the same names.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import EvaluationError

MMLU_MAX_SHOTS = 5  # the dev file of each MMLU subject holds 5 solved questions
CLASSIFICATION_MAX_SHOTS = 32


def words(text: str | None) -> list[str] | None:
    """``"a, b"`` as ``["a", "b"]`` (subjects, label words); None when it names nothing."""
    items = [w.strip() for w in str(text or "").split(",") if w.strip()]
    return items or None


def check_shots(shots: int, most: int, *, why: str = "") -> None:
    """Shots must be 0 (zero-shot) to ``most``; ``why`` says where the bound comes from."""
    if not 0 <= int(shots) <= most:
        raise EvaluationError(f"Shots is {shots}; use 0 (zero-shot) to {most}{why}.")


def check_mmlu_shots(shots: int) -> None:
    check_shots(
        shots,
        MMLU_MAX_SHOTS,
        why=f": each subject's dev file holds {MMLU_MAX_SHOTS} solved questions, so use 0 to {MMLU_MAX_SHOTS}",
    )


def check_classification_shots(shots: int) -> None:
    check_shots(shots, CLASSIFICATION_MAX_SHOTS)


def check_limit(limit: int | None, what: str) -> None:
    """A limit on the items scored is None (all) or at least 1; ``what`` names it ("Rows", ...)."""
    if limit is not None and int(limit) < 1:
        raise EvaluationError(f"{what} is {limit}; use at least 1, or no limit.")


def check_shots_leave_rows(shots: int, rows: int) -> None:
    """The solved rows shown before each prompt are not scored: some rows must be left."""
    if shots >= rows:
        raise EvaluationError(f"{shots} shots leave none of the {rows} rows to score; use fewer shots.")


def check_subjects_ticked(subjects: list[str] | None) -> None:
    """None means every subject; an empty list means none was ticked."""
    if subjects is not None and not subjects:
        raise EvaluationError("No subject ticked: tick at least one MMLU subject.")


def chosen_subjects(data_dir: str | Path, subjects: list[str] | None) -> list[str]:
    """The subjects to ask: ``subjects`` checked against the folder's, or every one in it when None."""
    from .mmlu import list_subjects

    check_subjects_ticked(subjects)
    available = list_subjects(data_dir)
    unknown = [s for s in subjects or [] if s not in available]
    if unknown:
        raise EvaluationError(
            f"Unknown MMLU subject(s) {', '.join(unknown)} in {data_dir}; available: {', '.join(available)}. "
            "Unknown subjects have no <subject>_test.csv there: name one of the available ones."
        )
    return list(subjects) if subjects else available
