"""ROUGE and BLEU as the field computes them, per example and for the corpus (``ift-desktop score``).

* Per-example ROUGE-1/2/L/Lsum are ``rouge_score.rouge_scorer.RougeScorer(types, use_stemmer=...)
  .score(reference, prediction)`` exactly; with several references each ROUGE type takes the
  reference of highest F-measure (``RougeScorer.score_multi``: ``np.argmax``, so the first on ties).
* Corpus ROUGE is the plain mean of the per-example precision, recall and F-measure (no bootstrap
  "mid", which would be random).
* Per-example BLEU is sacrebleu's sentence BLEU (``sacrebleu.sentence_bleu``: exp smoothing,
  effective order); corpus BLEU is ``sacrebleu.corpus_bleu`` with all references (a variable number
  per example is allowed) and its signature string.
* Every example also gets its :class:`~.overlap.OverlapAlignment` (tokens with character spans and
  the matched positions), drawn against the reference that gave the best ROUGE-L F-measure.

:func:`score` returns the JSON object of the ``score`` contract in DESIGN.md, plus ``settings``,
``warnings`` and ``confidence`` (bootstrap 95 % intervals) at the top level.
"""

from __future__ import annotations

import numpy as np
from rouge_score import rouge_scorer
from sacrebleu.metrics.bleu import BLEU

from ..errors import EvaluationError
from ..progress import TaskState
from ..provenance import package_version
from .lcs import LcsRougeScorer
from .overlap import TOKENIZER_NAMES, OverlapAlignment, make_tokenizer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
OVERLAP_REFERENCE_METRIC = "rougeL"  # the overlap is drawn against this metric's best reference


def rouge_scorer_for(use_stemmer: bool = True, tokenizer: str = "default") -> rouge_scorer.RougeScorer:
    """A RougeScorer for the four types; ``tokenizer="default"`` is rouge_score's own tokenizer.

    It is :class:`.lcs.LcsRougeScorer`: the same numbers as ``RougeScorer``, the LCS table by numpy.
    """
    return LcsRougeScorer(list(ROUGE_TYPES), tokenizer=make_tokenizer(tokenizer, use_stemmer))


def _score_json(value) -> dict:
    return {"precision": float(value.precision), "recall": float(value.recall), "fmeasure": float(value.fmeasure)}


def rouge_example(scorer: rouge_scorer.RougeScorer, prediction: str, references: list[str]) -> tuple[dict, dict]:
    """``({type: {precision, recall, fmeasure}}, {type: index of the reference used})`` for one example.

    With one reference this is ``scorer.score(reference, prediction)``; with several it is what
    ``scorer.score_multi(references, prediction)`` returns, keeping which reference each type took.
    """
    per_reference = [scorer.score(reference, prediction) for reference in references]
    scores, chosen = {}, {}
    for rouge_type in ROUGE_TYPES:
        index = int(np.argmax([s[rouge_type].fmeasure for s in per_reference]))
        scores[rouge_type] = _score_json(per_reference[index][rouge_type])
        chosen[rouge_type] = index
    return scores, chosen


def sentence_bleu(prediction: str, references: list[str]) -> dict:
    """sacrebleu sentence BLEU (= ``sacrebleu.sentence_bleu``) with its sufficient statistics."""
    result = BLEU(effective_order=True).sentence_score(prediction, list(references))
    return {
        "score": float(result.score),
        "counts": [int(c) for c in result.counts],
        "totals": [int(t) for t in result.totals],
        "precisions": [float(p) for p in result.precisions],
        "bp": float(result.bp),
        "sys_len": int(result.sys_len),
        "ref_len": int(result.ref_len),
    }


def corpus_bleu(predictions: list[str], references: list[list[str]]) -> dict:
    """sacrebleu corpus BLEU over all references (``None``-padded when examples have fewer)."""
    width = max(len(refs) for refs in references)
    streams = [[refs[k] if k < len(refs) else None for refs in references] for k in range(width)]
    metric = BLEU()
    result = metric.corpus_score(list(predictions), streams)
    return {
        "score": float(result.score),
        "precisions": [float(p) for p in result.precisions],
        "bp": float(result.bp),
        "sys_len": int(result.sys_len),
        "ref_len": int(result.ref_len),
        "signature": str(metric.get_signature()),
    }


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _check_inputs(predictions: list[str], references: list[list[str]]) -> list[list[str]]:
    if not predictions:
        raise EvaluationError("There are no predictions to score; give at least one prediction.")
    if len(predictions) != len(references):
        raise EvaluationError(
            f"There are {len(predictions)} predictions but {len(references)} reference sets; "
            "each prediction needs its own references, in the same order."
        )
    refs = [[refs] if isinstance(refs, str) else list(refs) for refs in references]
    for i, (prediction, example_refs) in enumerate(zip(predictions, refs), start=1):
        if not isinstance(prediction, str):
            raise EvaluationError(f"Prediction {i} is not text ({type(prediction).__name__}); give strings.")
        if not example_refs:
            raise EvaluationError(f"Example {i} has no reference; give at least one reference per example.")
        if not all(isinstance(r, str) for r in example_refs):
            raise EvaluationError(f"A reference of example {i} is not text; give strings.")
    return refs


def score(
    predictions: list[str],
    references: list[list[str]],
    *,
    use_stemmer: bool = True,
    tokenizer: str = "default",
    confidence: bool = True,
    state: TaskState | None = None,
) -> dict:
    """Score ``predictions`` against ``references`` (one list of reference texts per prediction).

    Returns ``{"corpus": ..., "examples": [...], "settings": ..., "warnings": [...], "confidence": ...}``
    as the ``score`` contract in DESIGN.md describes; an empty prediction scores 0 and is kept.
    ``confidence=False`` skips the bootstrap intervals (``"confidence": None``).
    """
    from . import stats  # stats reads the examples this module builds

    if tokenizer not in TOKENIZER_NAMES:
        raise EvaluationError(f"Unknown tokenizer '{tokenizer}'; choose one of: {', '.join(TOKENIZER_NAMES)}.")
    refs = _check_inputs(list(predictions), list(references))
    scorer = rouge_scorer_for(use_stemmer, tokenizer)
    span_tokenizer = make_tokenizer(tokenizer, use_stemmer)
    examples = []
    total = len(predictions)
    for i, (prediction, example_refs) in enumerate(zip(predictions, refs)):
        if state is not None:
            state.check_cancelled()
            state.report(i / total, f"Scoring example {i + 1} of {total}")
        rouge, chosen = rouge_example(scorer, prediction, example_refs)
        bleu_detail = sentence_bleu(prediction, example_refs)
        shown = chosen[OVERLAP_REFERENCE_METRIC]
        alignment = OverlapAlignment.build(prediction, example_refs, reference_index=shown, tokenizer=span_tokenizer)
        example = dict(rouge)
        example["bleu"] = bleu_detail.pop("score")
        example["bleu_detail"] = bleu_detail
        example["best_reference_index"] = shown
        example["best_reference_by_metric"] = chosen
        example["overlap"] = alignment.to_json()
        examples.append(example)

    corpus = {
        rouge_type: {key: _mean([e[rouge_type][key] for e in examples]) for key in ("precision", "recall", "fmeasure")}
        for rouge_type in ROUGE_TYPES
    }
    corpus["bleu"] = corpus_bleu(list(predictions), refs)
    result = {
        "corpus": corpus,
        "examples": examples,
        "settings": settings_json(use_stemmer, tokenizer),
    }
    result["warnings"] = stats.degenerate_warnings(list(predictions), refs, result, tokenizer=tokenizer)
    result["confidence"] = stats.bootstrap_ci(result, state=state) if confidence else None
    if state is not None:
        state.report(1.0, f"Scored {total} examples")
    return result


def settings_json(use_stemmer: bool, tokenizer: str) -> dict:
    """What produced the numbers: enough to reproduce or to refuse to compare them."""
    comparable = tokenizer == "default"
    return {
        "use_stemmer": bool(use_stemmer),
        "tokenizer": tokenizer,
        "comparable_with_published_rouge": comparable,
        "rouge": "rouge_score "
        + _version("rouge_score")
        + f" ({'Porter stemmer' if use_stemmer else 'no stemmer'}, "
        + ("default tokenizer)" if comparable else "Unicode tokenizer: not comparable with published ROUGE)"),
        "corpus_rouge": "mean of per-example precision, recall and F-measure",
        "multi_reference": "ROUGE: best F-measure reference per example and type (score_multi); BLEU: all references",
        "sacrebleu": _version("sacrebleu"),
    }


def _version(package: str) -> str:
    return package_version(package) or "unknown"
