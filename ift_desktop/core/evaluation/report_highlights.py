"""Highlight spans of an evaluation example: which characters to colour for an overlap kind, and why.

Each scored example carries the metric's own tokens (with character spans) and the matched
positions per overlap kind (ROUGE-1/2, the LCS of ROUGE-L, BLEU-1..4). :func:`overlap_spans`
turns them into :class:`HighlightSpan` s with a tooltip that explains the count,
:func:`kind_numbers` gives the matched / total counts behind them, :func:`legend_entries` the
legend, and :func:`highlighted_html` the escaped HTML the report shows. Qt-free; the Evaluate
page and the HTML export (:mod:`.report_export`) both draw from here.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass

OVERLAP_KINDS = ("rouge1", "rouge2", "rougeL", "bleu1", "bleu2", "bleu3", "bleu4")
KIND_LABELS = {
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "bleu1": "BLEU-1",
    "bleu2": "BLEU-2",
    "bleu3": "BLEU-3",
    "bleu4": "BLEU-4",
}
# Highlight colours per kind family: (matched, present-but-not-counted)
KIND_COLOURS = {"rougeN": ("#9fe0b0", "#ffd59e"), "lcs": ("#a9cdf7", "#ffd59e"), "bleu": ("#d7c2f5", "#ffd59e")}


def kind_order(kind: str) -> int | None:
    """n of an n-gram kind (``rouge2`` → 2, ``bleu4`` → 4); None for the LCS of ROUGE-L."""
    return None if kind == "rougeL" else int(kind[-1])


def kind_family(kind: str) -> str:
    return "lcs" if kind == "rougeL" else ("bleu" if kind.startswith("bleu") else "rougeN")


def kind_tokens(kind: str) -> str:
    """Which tokenization the kind's positions refer to: ``rouge`` or ``bleu``."""
    return "bleu" if kind.startswith("bleu") else "rouge"


@dataclass(frozen=True)
class HighlightSpan:
    """One highlighted token: characters ``[start, end)`` of the original text."""

    start: int
    end: int
    category: str  # "match" (counted by the metric) or "other" (also in the other text, not counted)
    token: int
    tooltip: str


@dataclass(frozen=True)
class KindNumbers:
    """The counts behind one overlap kind of one example: matched units over the totals."""

    kind: str
    matched: int
    prediction_total: int  # n-grams (or tokens) in the prediction
    reference_total: int  # n-grams (or tokens) in the shown reference

    @property
    def precision(self) -> float:
        return self.matched / self.prediction_total if self.prediction_total else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.reference_total if self.reference_total else 0.0

    @property
    def fmeasure(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def kind_numbers(example: dict | None, kind: str) -> KindNumbers:
    """Matched / total counts of ``kind`` from the example's overlap (what the highlights show)."""
    overlap = (example or {}).get("overlap") or {}
    tokens = (overlap.get("tokens") or {}).get(kind_tokens(kind)) or {}
    pred, ref = len(tokens.get("prediction") or []), len(tokens.get("reference") or [])
    matched = len((((overlap.get("matches") or {}).get(kind)) or {}).get("prediction") or [])
    n = kind_order(kind) or 1
    return KindNumbers(kind, matched, max(0, pred - n + 1), max(0, ref - n + 1))


def legend_entries(kind: str) -> list[tuple[str, str, str]]:
    """(category, colour, text) for the legend of an overlap kind."""
    matched, other = KIND_COLOURS[kind_family(kind)]
    if kind == "rougeL":
        return [
            ("match", matched, "in the longest common subsequence (LCS)"),
            ("other", other, "also in the other text, but outside the LCS"),
        ]
    n = kind_order(kind)
    what = "word" if n == 1 else f"{n}-gram"
    return [
        ("match", matched, f"matched {what} (counted)"),
        ("other", other, f"{what} also in the other text, not counted (clipped to its count there)"),
    ]


def overlap_spans(example: dict | None, kind: str, side: str) -> list[HighlightSpan]:
    """The tokens to highlight on ``side`` ("prediction" or "reference") for an overlap kind.

    The positions are exactly the example's ``overlap.matches[kind]``: a matched n-gram starting
    at token i colours tokens i..i+n-1. Tokens whose n-gram also occurs in the other text but was
    not counted (clipping, or outside the LCS) get the second colour.
    """
    overlap = (example or {}).get("overlap") or {}
    tokens_all = (overlap.get("tokens") or {}).get(kind_tokens(kind)) or {}
    mine = tokens_all.get(side) or []
    theirs = tokens_all.get("reference" if side == "prediction" else "prediction") or []
    starts = ((overlap.get("matches") or {}).get(kind) or {}).get(side) or []
    here, there = ("prediction", "reference") if side == "prediction" else ("reference", "prediction")
    words = [str(t[0]) for t in mine]
    other_words = [str(t[0]) for t in theirs]
    spans: dict[int, tuple[str, str]] = {}
    if kind == "rougeL":
        lcs = sorted(set(int(i) for i in starts))
        rank = {t: k for k, t in enumerate(lcs, 1)}
        present = set(other_words)
        for t, word in enumerate(words):
            if t in rank:
                spans[t] = (
                    "match",
                    f"“{word}”: LCS token {rank[t]} of {len(lcs)}; LCS length {len(lcs)}, "
                    f"{len(words)} tokens in the {here}",
                )
            elif word in present:
                spans[t] = (
                    "other",
                    f"“{word}” also occurs in the {there}, but not in the order of the longest "
                    "common subsequence, so ROUGE-L does not count it",
                )
    else:
        n = kind_order(kind)
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        own_counts = Counter(grams)
        other_counts = Counter(tuple(other_words[i : i + n]) for i in range(len(other_words) - n + 1))
        counted = {int(s) for s in starts if 0 <= int(s) < len(grams)}
        counted_per_gram = Counter(grams[s] for s in counted)
        for t in range(len(words)):
            lines, category = [], None
            for s in range(max(0, t - n + 1), min(t, len(grams) - 1) + 1):
                gram = grams[s]
                if s not in counted and other_counts[gram] == 0:
                    continue
                status = "counted" if s in counted else "not counted (clipped)"
                lines.append(
                    f"“{' '.join(gram)}”: {own_counts[gram]}× in the {here}, {other_counts[gram]}× in the "
                    f"{there}; {counted_per_gram[gram]} counted — this one {status}"
                )
                category = "match" if s in counted else (category or "other")
            if category:
                spans[t] = (category, "\n".join(lines))
    result = []
    for t in sorted(spans):
        category, tip = spans[t]
        start, end = int(mine[t][1]), int(mine[t][2])
        result.append(HighlightSpan(start, end, category, t, tip))
    return result


def highlighted_html(text: str, spans: list[HighlightSpan], kind: str) -> str:
    """``text`` escaped, with each span wrapped in a coloured, titled ``<span>`` (for the report)."""
    out, pos = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < pos or span.end > len(text):
            continue
        out.append(html.escape(text[pos : span.start]))
        out.append(
            f'<span class="hl {kind_family(kind)}-{span.category}" title="{html.escape(span.tooltip)}">'
            f"{html.escape(text[span.start : span.end])}</span>"
        )
        pos = span.end
    out.append(html.escape(text[pos:]))
    return "".join(out)
