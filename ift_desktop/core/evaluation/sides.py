"""Score a base model and its fine-tuned run one after the other: the scorer every held-out check shares.

:func:`score_sides` loads each model in turn (a LoRA run folded into its base, faster to score),
hands it to the check's ``score(loaded, state)`` (MMLU, classification) and frees it before the next
loads, so two models never sit in memory together. The forgetting check (tab and command) and
``benchmark mmlu|classification [--run]`` call it; the comparison of the two results is
:mod:`.comparison`'s.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..progress import TaskState, span

SIDE_NAMES = ("Base", "Fine-tuned")
LOAD_SHARE = 0.16  # of each side's stretch of the progress bar


@dataclass
class ScoredSide:
    """One model's result and how long it took to load."""

    spec: object  # the ModelSpec scored
    result: dict
    load_s: float


Scorer = Callable[[object, "TaskState | None"], dict]


def score_sides(
    specs: list, score: Scorer, *, device: str | None = None, state: TaskState | None = None
) -> list[ScoredSide]:
    """``score`` each of ``specs`` (base first, then the run) in turn; the bar is shared evenly, and
    with two models each one's messages start with "Base:" / "Fine-tuned:"."""
    scored = []
    for k, spec in enumerate(specs):
        name = SIDE_NAMES[k] if len(specs) > 1 else None
        stage = span(state, k / len(specs), (k + 1) / len(specs), name)
        scored.append(score_one(spec, score, device=device, state=stage))
    return scored


def score_one(spec, score: Scorer, *, device: str | None = None, state: TaskState | None = None) -> ScoredSide:
    """Load ``spec`` (LoRA merged in), ``score`` it, free it whatever happens."""
    started = time.perf_counter()
    loaded, _merged = load_for_scoring(spec, device=device, state=span(state, 0.0, LOAD_SHARE))
    try:
        load_s = time.perf_counter() - started
        result = score(loaded, span(state, LOAD_SHARE, 1.0))
    finally:
        loaded.model = None  # the weights go now, not when the caller's variables are rebound
        loaded = None
        free_memory()
    return ScoredSide(spec, result, round(load_s, 3))


def load_for_scoring(spec, *, device: str | None = None, state: TaskState | None = None):
    """(the loaded model, whether a LoRA adapter was folded into it): our own copy, so merging is safe and the
    answers are the same, only faster (also :func:`.evaluate.evaluate`)."""
    from ..models import load_model

    loaded = load_model(spec, device=device, state=state)
    if not hasattr(loaded.model, "merge_and_unload"):
        return loaded, False
    loaded.model = loaded.model.merge_and_unload()
    return loaded, True


def free_memory() -> None:
    """Release a model's memory before the next one loads (two models at once may not fit)."""
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # freeing memory is best effort; the next load reports a real shortage
        pass
