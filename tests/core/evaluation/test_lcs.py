"""The numpy LCS table and LcsRougeScorer give exactly rouge_score's numbers (it is what `score` uses)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from ift_desktop.core.evaluation.lcs import (
    SMALL_TABLE,
    LcsRougeScorer,
    lcs_indices,
    lcs_length,
    lcs_table,
    lcs_table_grid,
)

TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
words = st.lists(st.sampled_from("a b c d e f".split()), max_size=60)
texts = st.lists(
    st.sampled_from(
        ["cat", "cats", "sat", "on", "the", "mat", "running", "ran", "It", "is", "\n", "cold,", "outside."]
    ),
    max_size=80,
).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(words, words)
def test_table_and_lcs_equal_rouge_scores(ref, can):
    assert lcs_table(ref, can) == rouge_scorer._lcs_table(ref, can)
    assert lcs_indices(ref, can) == rouge_scorer.lcs_ind(ref, can)
    assert lcs_length(ref, can) == rouge_scorer._lcs_table(ref, can)[-1][-1]


@settings(max_examples=150, deadline=None)
@given(texts, texts, st.booleans())
def test_scorer_equals_rouge_score(target, prediction, stemmer):
    ours = LcsRougeScorer(TYPES, use_stemmer=stemmer).score(target, prediction)
    theirs = rouge_scorer.RougeScorer(TYPES, use_stemmer=stemmer).score(target, prediction)
    assert ours == theirs


@settings(max_examples=100, deadline=None)
@given(st.lists(words, min_size=1, max_size=5), st.lists(words, min_size=1, max_size=6))
def test_the_grid_equals_one_table_per_pair(refs, candidates):
    refs = [ref * 3 for ref in refs]  # big enough for the numpy path most of the time
    assert lcs_table_grid(refs, candidates) == [[rouge_scorer._lcs_table(r, c) for c in candidates] for r in refs]


def test_large_tables_take_the_numpy_path_and_stay_equal():
    rng = random.Random(3)
    ref = [rng.choice("abcdefgh") for _ in range(200)]
    can = [rng.choice("abcdefgh") for _ in range(150)]
    assert len(ref) * len(can) > SMALL_TABLE
    assert lcs_table(ref, can) == rouge_scorer._lcs_table(ref, can)
    target, prediction = " ".join(ref), " ".join(can)
    assert LcsRougeScorer(TYPES).score(target, prediction) == rouge_scorer.RougeScorer(TYPES).score(target, prediction)
    lines = lambda tokens: "\n".join(" ".join(tokens[k : k + 12]) for k in range(0, len(tokens), 12))  # noqa: E731
    target, prediction = lines(ref), lines(can)  # ROUGE-Lsum: 17 × 13 sentence pairs side by side
    assert LcsRougeScorer(TYPES).score(target, prediction) == rouge_scorer.RougeScorer(TYPES).score(target, prediction)
