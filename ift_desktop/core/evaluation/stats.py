"""Honest numbers: bootstrap confidence intervals, a paired significance test, degenerate-score warnings.

* :func:`bootstrap_ci` resamples the examples with replacement (fixed seed, so the same scores give
  the same interval every time) and recomputes each corpus metric: the mean F-measure for ROUGE and
  sacrebleu's corpus BLEU from the summed per-example statistics (exactly how sacrebleu aggregates).
  The interval is the percentile interval of the resampled values.
* :func:`paired_test` compares a base and a fine-tuned model scored on the same examples: the delta
  of each corpus metric, a paired-bootstrap confidence interval of that delta (the same resampled
  examples for both models), and a two-sided p-value by approximate randomization (each example's
  pair of scores is swapped with probability 1/2; p = (1 + #|Δ*| >= |Δ|) / (1 + R)).
* :func:`degenerate_warnings` says when a number cannot be trusted: every score zero, empty
  predictions, or text that rouge_score's ASCII-only tokenizer erases (non-Latin scripts, accents),
  with the Unicode-aware tokenizer as the way out (labelled not comparable with published ROUGE).

Everything here reads the examples that :func:`.metrics.score` builds (``rouge*.fmeasure`` and
``bleu_detail``), so scores from a saved evaluation file can be re-analysed without re-scoring.
"""

from __future__ import annotations

import numpy as np
from sacrebleu.metrics.bleu import BLEU

from ..errors import EvaluationError
from ..progress import TaskState
from .overlap import DefaultTokenizer

METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum", "bleu")
DEFAULT_SEED = 12345
DEFAULT_RESAMPLES = 1000
_ORDER = 4


def _examples(source) -> list[dict]:
    examples = source.get("examples") if isinstance(source, dict) else source
    if not examples:
        raise EvaluationError("There are no scored examples to analyse; score at least one example first.")
    return list(examples)


def _rouge_values(examples: list[dict], metric: str) -> np.ndarray:
    return np.array([float(e[metric]["fmeasure"]) for e in examples], dtype=float)


def _bleu_stats(examples: list[dict]) -> np.ndarray:
    """Per-example sacrebleu statistics ``[sys_len, ref_len, counts x4, totals x4]``."""
    rows = []
    for e in examples:
        detail = e.get("bleu_detail")
        if not detail:
            raise EvaluationError(
                "These scores have no BLEU statistics per example (bleu_detail); re-score them with this version."
            )
        rows.append([detail["sys_len"], detail["ref_len"], *detail["counts"], *detail["totals"]])
    return np.array(rows, dtype=np.int64)


def corpus_bleu_from_stats(summed) -> float:
    """sacrebleu's corpus BLEU (exp smoothing, no effective order) from summed statistics."""
    summed = [int(v) for v in summed]
    return float(
        BLEU.compute_bleu(
            correct=summed[2 : 2 + _ORDER],
            total=summed[2 + _ORDER :],
            sys_len=summed[0],
            ref_len=summed[1],
            smooth_method="exp",
        ).score
    )


def _metric_fn(examples: list[dict], metric: str):
    """``(values, f)`` where ``f(index_matrix) -> one corpus value per row`` of example indices."""
    if metric == "bleu":
        stats = _bleu_stats(examples)

        def corpus(idx: np.ndarray) -> np.ndarray:
            sums = stats[idx].sum(axis=1)
            return np.array([corpus_bleu_from_stats(row) for row in sums])

        return stats, corpus
    values = _rouge_values(examples, metric)
    return values, lambda idx: values[idx].mean(axis=1)


def _corpus_value(examples: list[dict], metric: str) -> float:
    if metric == "bleu":
        return corpus_bleu_from_stats(_bleu_stats(examples).sum(axis=0))
    values = [float(e[metric]["fmeasure"]) for e in examples]
    return sum(values) / len(values)


def bootstrap_ci(
    source,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
    state: TaskState | None = None,
) -> dict:
    """Percentile-bootstrap intervals of the corpus metrics of a ``score`` result (or its examples).

    Returns ``{"method", "n_resamples", "seed", "confidence", "metrics": {metric: {"value", "low",
    "high"}}}``; ROUGE values are mean F-measures in 0..1, BLEU is sacrebleu's 0..100 scale.
    """
    examples = _examples(source)
    rng = np.random.default_rng(seed)
    n = len(examples)
    idx = rng.integers(0, n, size=(n_resamples, n))
    alpha = (1.0 - confidence) / 2.0
    out = {}
    for metric in METRICS:
        if state is not None:
            state.check_cancelled()
        _, corpus = _metric_fn(examples, metric)
        resampled = corpus(idx)
        low, high = np.quantile(resampled, [alpha, 1.0 - alpha])
        out[metric] = {"value": _corpus_value(examples, metric), "low": float(low), "high": float(high)}
    return {
        "method": "percentile bootstrap over examples",
        "n_resamples": int(n_resamples),
        "seed": int(seed),
        "confidence": float(confidence),
        "metrics": out,
    }


def _per_example(examples: list[dict], metric: str) -> np.ndarray:
    if metric == "bleu":
        return np.array([float(e["bleu"]) for e in examples])
    return _rouge_values(examples, metric)


def paired_test(
    base,
    tuned,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
    state: TaskState | None = None,
) -> dict:
    """Base vs fine-tuned on the same examples: delta, its bootstrap interval, a randomization p-value.

    Returns ``{"method", "n_resamples", "seed", "confidence", "n", "metrics": {metric: {"base",
    "tuned", "delta", "low", "high", "p_value", "wins", "losses", "ties"}}}``; ``wins`` counts the
    examples where the tuned model's per-example score is higher.
    """
    base_ex, tuned_ex = _examples(base), _examples(tuned)
    if len(base_ex) != len(tuned_ex):
        raise EvaluationError(
            f"The two evaluations have {len(base_ex)} and {len(tuned_ex)} examples; "
            "compare evaluations of the same split and limit."
        )
    n = len(base_ex)
    rng = np.random.default_rng(seed)
    boot = rng.integers(0, n, size=(n_resamples, n))
    swap = rng.random(size=(n_resamples, n)) < 0.5
    alpha = (1.0 - confidence) / 2.0
    out = {}
    for metric in METRICS:
        if state is not None:
            state.check_cancelled()
        b_values, b_corpus = _metric_fn(base_ex, metric)
        t_values, t_corpus = _metric_fn(tuned_ex, metric)
        b0, t0 = _corpus_value(base_ex, metric), _corpus_value(tuned_ex, metric)
        delta = t0 - b0
        deltas = t_corpus(boot) - b_corpus(boot)
        low, high = np.quantile(deltas, [alpha, 1.0 - alpha])
        perm_delta = _permuted_deltas(metric, b_values, t_values, swap)
        extreme = int(np.sum(np.abs(perm_delta) >= abs(delta) - 1e-12))
        per_b, per_t = _per_example(base_ex, metric), _per_example(tuned_ex, metric)
        out[metric] = {
            "base": b0,
            "tuned": t0,
            "delta": delta,
            "low": float(low),
            "high": float(high),
            "p_value": (1 + extreme) / (1 + n_resamples),
            "wins": int(np.sum(per_t > per_b)),
            "losses": int(np.sum(per_t < per_b)),
            "ties": int(np.sum(per_t == per_b)),
        }
    return {
        "method": "paired bootstrap interval of the delta; approximate randomization p-value (two-sided)",
        "n_resamples": int(n_resamples),
        "seed": int(seed),
        "confidence": float(confidence),
        "n": n,
        "metrics": out,
    }


def _permuted_deltas(metric: str, base_values: np.ndarray, tuned_values: np.ndarray, swap: np.ndarray):
    if metric == "bleu":  # rows of statistics: swap whole rows, then aggregate as sacrebleu does
        b_sum = np.where(swap[..., None], tuned_values[None], base_values[None]).sum(axis=1)
        t_sum = np.where(swap[..., None], base_values[None], tuned_values[None]).sum(axis=1)
        return np.array([corpus_bleu_from_stats(t) - corpus_bleu_from_stats(b) for b, t in zip(b_sum, t_sum)])
    b = np.where(swap, tuned_values[None], base_values[None]).mean(axis=1)
    t = np.where(swap, base_values[None], tuned_values[None]).mean(axis=1)
    return t - b


# ------------------------------------------------------------------------------------------------
# degenerate scores


def erased_share(text: str) -> float:
    """Share of the letters in ``text`` that rouge_score's default tokenizer drops (not ``a-z``)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    kept = sum(1 for c in letters if c.isascii() or c in "\u0130\u212a")
    return 1.0 - kept / len(letters)


def degenerate_warnings(
    predictions: list[str], references: list[list[str]], result: dict, *, tokenizer: str = "default"
) -> list[dict]:
    """Warnings ``[{"code", "message"}]`` about scores that cannot be trusted or compared."""
    notes: list[dict] = []
    examples = result["examples"]
    total = len(predictions)
    empty = sum(1 for p in predictions if not p.strip())
    if empty:
        notes.append(
            {
                "code": "empty_predictions",
                "message": f"{empty} of {total} predictions are empty; they score 0 and are kept in the averages.",
            }
        )
    if examples and all(
        all(e[m]["fmeasure"] == 0 for m in ("rouge1", "rouge2", "rougeL", "rougeLsum")) and e["bleu"] == 0
        for e in examples
    ):
        notes.append(
            {
                "code": "all_zero",
                "message": "Every score is 0: no prediction shares a single word with its reference. "
                "Check that the predictions and references are in the same order and the same language.",
            }
        )
    if tokenizer == "default":
        texts = list(predictions) + [r for refs in references for r in refs]
        mostly = sum(1 for t in texts if erased_share(t) > 0.5)
        emptied = sum(1 for t in texts if t.strip() and any(c.isalpha() for c in t) and not _default_tokens(t))
        if mostly:
            notes.append(
                {
                    "code": "erased_text",
                    "message": f"ROUGE's tokenizer keeps only a-z and 0-9, so it erases most letters of {mostly} "
                    f"of {len(texts)} texts ({emptied} lose every word): non-Latin or accented text scores near 0. "
                    "Re-score with the Unicode-aware tokenizer (--tokenizer unicode); its numbers are not "
                    "comparable with published ROUGE.",
                }
            )
    else:
        notes.append(
            {
                "code": "unicode_tokenizer",
                "message": "ROUGE was computed with the Unicode-aware tokenizer: the numbers are not comparable "
                "with published ROUGE (which uses rouge_score's ASCII-only tokenizer). BLEU is unchanged.",
            }
        )
    return notes


_PLAIN = DefaultTokenizer(use_stemmer=False)


def _default_tokens(text: str) -> list[str]:
    return _PLAIN.tokenize(text)
