"""Evaluation: ROUGE/BLEU as rouge_score and sacrebleu compute them, overlaps, honest statistics.

* :mod:`.metrics` — :func:`score` (the ``ift-desktop score`` JSON), per-example and corpus metrics.
* :mod:`.overlap` — :class:`OverlapAlignment`: the metrics' tokens as character spans, matched n-grams, LCS.
* :mod:`.stats` — bootstrap intervals, the paired base-vs-tuned test, degenerate-score warnings.
* :mod:`.explain` — plain-language explanation of a score from its highlighted counts.

Generation and ``evaluate()`` live in sibling modules that import these; this package imports
only the scoring side so that ``score`` never loads torch.
"""

from .explain import explain_example
from .metrics import ROUGE_TYPES, score
from .overlap import OVERLAP_KINDS, OverlapAlignment, UnicodeTokenizer, bleu_tokens_with_spans, make_tokenizer
from .stats import bootstrap_ci, degenerate_warnings, paired_test

__all__ = [
    "OVERLAP_KINDS",
    "ROUGE_TYPES",
    "OverlapAlignment",
    "UnicodeTokenizer",
    "bleu_tokens_with_spans",
    "bootstrap_ci",
    "degenerate_warnings",
    "explain_example",
    "make_tokenizer",
    "paired_test",
    "score",
]
