"""ROUGE-L and ROUGE-Lsum exactly as rouge_score computes them, with the LCS table filled by numpy.

rouge_score fills its longest-common-subsequence table cell by cell in Python (``_lcs_table``):
90,000 Python steps for two 300-word texts, and ``score`` needs it three times per reference (ROUGE-L,
ROUGE-Lsum, the highlighted LCS), which made the Metric lab lag behind typing. ROUGE-L needs only
the length, which :func:`lcs_length` computes bit-parallel without a table; :func:`lcs_table`
returns the same table, row by row: with ``cand[j] = prev[j-1] + 1`` where the tokens are equal and
``prev[j]`` elsewhere, the row is the running maximum of ``cand`` (in the equal case
``prev[j-1] + 1`` is already the largest of the three neighbours, as the recurrence guarantees).
ROUGE-Lsum needs one table per pair of sentences: :func:`lcs_table_grid` fills them all at once.
Small tables keep rouge_score's own loop, which is faster there.

:class:`LcsRougeScorer` is a ``RougeScorer`` whose rougeL and rougeLsum use that table with
rouge_score's own back-tracking (``_backtrack_norec``) and its own counting, so every number equals
``RougeScorer.score`` (tests/core/evaluation/test_lcs.py checks them against rouge_score itself).
"""

from __future__ import annotations

import collections
import re

import numpy as np
from rouge_score import rouge_scorer, scoring

SMALL_TABLE = 1024  # cells; below this rouge_score's Python loop beats numpy's per-row overhead
_NGRAM_TYPE = re.compile(r"rouge([0-9])$")


def lcs_table_grid(refs: list[list[str]], candidates: list[list[str]]) -> list[list[list[list[int]]]]:
    """``grid[k][s] = rouge_scorer._lcs_table(refs[k], candidates[s])``, all filled in one pass of numpy rows.

    The candidates sit side by side, each after a boundary column that stays 0; adding
    ``segment × (longest ref + 1)`` before the running maximum (and removing it after) restarts the
    maximum at every boundary, so each candidate's columns are its own table. The references are
    stacked, row i of every one computed at once (shorter ones are padded with a token that matches
    nothing, and their padding rows are dropped).
    """
    widths, lengths = [len(can) for can in candidates], [len(ref) for ref in refs]
    if sum(lengths) * sum(widths) <= SMALL_TABLE:
        return [[rouge_scorer._lcs_table(ref, can) for can in candidates] for ref in refs]
    ids: dict[str, int] = {}
    depth = max(lengths)
    ref_ids = np.full((len(refs), depth), -2, dtype=np.int32)  # -2 (padding) equals no token
    for k, ref in enumerate(refs):
        ref_ids[k, : len(ref)] = [ids.setdefault(t, len(ids)) for t in ref]
    starts = np.cumsum([0] + [w + 1 for w in widths[:-1]])
    total = sum(widths) + len(widths)
    can_ids = np.full(total, -1, dtype=np.int32)  # -1 (a boundary) equals no token
    for start, can in zip(starts, candidates):
        can_ids[start + 1 : start + 1 + len(can)] = [ids.setdefault(t, len(ids)) for t in can]
    offset = np.repeat(np.arange(len(widths), dtype=np.int32) * (depth + 1), [w + 1 for w in widths])
    equal = ref_ids[:, :, None] == can_ids[None, None, :]
    table = np.zeros((len(refs), depth + 1, total), dtype=np.int32)
    row = np.zeros((len(refs), total), dtype=np.int32)
    for i in range(1, depth + 1):
        previous = table[:, i - 1, :]
        row[:, 1:] = np.where(equal[:, i - 1, 1:], previous[:, :-1] + 1, previous[:, 1:])
        row[:, starts] = 0
        table[:, i, :] = np.maximum.accumulate(row + offset, axis=1) - offset
    return [
        [table[k, : lengths[k] + 1, start : start + width + 1].tolist() for start, width in zip(starts, widths)]
        for k in range(len(refs))
    ]


def lcs_length(ref: list[str], can: list[str]) -> int:
    """``lcs_table(ref, can)[-1][-1]`` without the table: Hyyrö's bit-parallel LCS on Python integers.

    Bit j of ``v`` is 0 where the LCS so far gains at column j; one addition and two masks per
    reference token replace a whole row of the table.
    """
    if not ref or not can:
        return 0
    masks: dict[str, int] = {}
    for j, token in enumerate(can):
        masks[token] = masks.get(token, 0) | (1 << j)
    full = (1 << len(can)) - 1
    v = full
    for token in ref:
        u = v & masks.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return len(can) - v.bit_count()


def lcs_table(ref: list[str], can: list[str]) -> list[list[int]]:
    """The (len(ref)+1) × (len(can)+1) LCS table, equal to ``rouge_scorer._lcs_table(ref, can)``."""
    rows, cols = len(ref), len(can)
    if rows * cols <= SMALL_TABLE:
        return rouge_scorer._lcs_table(ref, can)
    ids: dict[str, int] = {}
    ref_ids = np.fromiter((ids.setdefault(t, len(ids)) for t in ref), dtype=np.int32, count=rows)
    can_ids = np.fromiter((ids.setdefault(t, len(ids)) for t in can), dtype=np.int32, count=cols)
    equal = ref_ids[:, None] == can_ids[None, :]
    table = np.zeros((rows + 1, cols + 1), dtype=np.int32)
    for i in range(1, rows + 1):
        previous = table[i - 1]
        np.maximum.accumulate(np.where(equal[i - 1], previous[:-1] + 1, previous[1:]), out=table[i, 1:])
    return table.tolist()


def lcs_indices(ref: list[str], can: list[str]) -> list[int]:
    """Indices into ``ref`` of the LCS rouge_score reads out (``rouge_scorer.lcs_ind``)."""
    return rouge_scorer._backtrack_norec(lcs_table(ref, can), ref, can)


def score_lcs(target_tokens: list[str], prediction_tokens: list[str]) -> scoring.Score:
    """``rouge_scorer._score_lcs``: ROUGE-L from the length of the LCS."""
    if not target_tokens or not prediction_tokens:
        return scoring.Score(precision=0, recall=0, fmeasure=0)
    length = lcs_length(target_tokens, prediction_tokens)
    precision = length / len(prediction_tokens)
    recall = length / len(target_tokens)
    return scoring.Score(precision=precision, recall=recall, fmeasure=scoring.fmeasure(precision, recall))


def summary_level_lcs(ref_sent: list[list[str]], can_sent: list[list[str]]) -> scoring.Score:
    """``rouge_scorer._summary_level_lcs``: ROUGE-Lsum from the union LCS of each reference sentence."""
    if not ref_sent or not can_sent:
        return scoring.Score(precision=0, recall=0, fmeasure=0)
    m = sum(map(len, ref_sent))
    n = sum(map(len, can_sent))
    if not n or not m:
        return scoring.Score(precision=0, recall=0, fmeasure=0)
    token_cnts_r: collections.Counter = collections.Counter()
    token_cnts_c: collections.Counter = collections.Counter()
    for sentence in ref_sent:
        token_cnts_r.update(sentence)
    for sentence in can_sent:
        token_cnts_c.update(sentence)
    hits = 0
    for ref, tables in zip(ref_sent, lcs_table_grid(ref_sent, can_sent)):
        union = rouge_scorer._find_union(
            [rouge_scorer._backtrack_norec(t, ref, can) for t, can in zip(tables, can_sent)]
        )
        for token in (ref[i] for i in union):
            if token_cnts_c[token] > 0 and token_cnts_r[token] > 0:  # each token at most as often as in both
                hits += 1
                token_cnts_c[token] -= 1
                token_cnts_r[token] -= 1
    recall = hits / m
    precision = hits / n
    return scoring.Score(precision=precision, recall=recall, fmeasure=scoring.fmeasure(precision, recall))


def _sentences(text: str) -> list[str]:
    """rouge_score's rougeLsum sentences without ``split_summaries``: the non-empty lines."""
    return [line for line in text.split("\n") if len(line)]


class LcsRougeScorer(rouge_scorer.RougeScorer):
    """``RougeScorer`` (rougeN, rougeL, rougeLsum; no ``split_summaries``) with the numpy LCS table."""

    def __init__(self, rouge_types, use_stemmer: bool = False, tokenizer=None):
        super().__init__(rouge_types, use_stemmer=use_stemmer, split_summaries=False, tokenizer=tokenizer)
        for rouge_type in rouge_types:
            if rouge_type not in ("rougeL", "rougeLsum") and not _NGRAM_TYPE.match(rouge_type):
                raise ValueError(f"Invalid rouge type: {rouge_type}")

    def score(self, target: str, prediction: str) -> dict[str, scoring.Score]:
        tokenize = self._tokenizer.tokenize
        if list(self.rouge_types) == ["rougeLsum"]:
            target_tokens = prediction_tokens = None
        else:
            target_tokens, prediction_tokens = tokenize(target), tokenize(prediction)
        result = {}
        for rouge_type in self.rouge_types:
            if rouge_type == "rougeL":
                result[rouge_type] = score_lcs(target_tokens, prediction_tokens)
            elif rouge_type == "rougeLsum":
                result[rouge_type] = summary_level_lcs(
                    [tokenize(s) for s in _sentences(target)], [tokenize(s) for s in _sentences(prediction)]
                )
            else:
                n = int(_NGRAM_TYPE.match(rouge_type).group(1))
                if n <= 0:
                    raise ValueError(f"rougen requires positive n: {rouge_type}")
                result[rouge_type] = rouge_scorer._score_ngrams(
                    rouge_scorer._create_ngrams(target_tokens, n), rouge_scorer._create_ngrams(prediction_tokens, n)
                )
        return result
