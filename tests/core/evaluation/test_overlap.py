"""Overlap alignment: the metrics' own tokens, spans in the original text, counts equal the metrics'."""

from __future__ import annotations

import collections

import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer
from rouge_score import tokenize as rouge_tokenize
from rouge_score.tokenizers import DefaultTokenizer as RougeDefault
from test_metrics import REFERENCE, texts

from ift_desktop.core.evaluation.metrics import score
from ift_desktop.core.evaluation.overlap import (
    OverlapAlignment,
    UnicodeTokenizer,
    bleu_tokens,
    bleu_tokens_with_spans,
    make_tokenizer,
)

# The seed examples: (prediction, kind, matched prediction positions, matched reference positions)
SEED_HIGHLIGHTS = [
    ("cold cold cold cold", "rouge1", [0], [2]),  # clipped: one "cold" in the reference; the first is marked
    ("cold cold cold cold", "rouge2", [], []),
    ("cold cold cold cold", "rougeL", [3], [2]),  # rouge_score's back-tracking picks the last "cold"
    ("cold cold cold cold", "bleu1", [0], [2]),
    ("cold cold cold cold", "bleu2", [], []),
    ("outside cold it is", "rouge1", [0, 1, 2, 3], [0, 1, 2, 3]),
    ("outside cold it is", "rouge2", [2], [0]),  # "it is"
    ("outside cold it is", "rougeL", [2, 3], [0, 1]),
    ("outside cold it is", "bleu1", [0, 1, 3], [1, 2, 3]),  # BLEU is case-sensitive: "it" != "It"
    ("outside cold it is", "bleu2", [], []),
]


@pytest.mark.parametrize("prediction, kind, pred_marks, ref_marks", SEED_HIGHLIGHTS)
def test_seed_highlights_pinned(prediction, kind, pred_marks, ref_marks):
    overlap = score([prediction], [[REFERENCE]], confidence=False)["examples"][0]["overlap"]
    assert overlap["matches"][kind] == {"prediction": pred_marks, "reference": ref_marks}
    assert overlap["tokens"]["rouge"]["reference"] == [["it", 0, 2], ["is", 3, 5], ["cold", 6, 10], ["outsid", 11, 18]]
    assert overlap["tokens"]["bleu"]["reference"] == [["It", 0, 2], ["is", 3, 5], ["cold", 6, 10], ["outside", 11, 18]]


def _check_rouge_tokens(text, tokenizer, reference_tokenize):
    spans = tokenizer.tokenize_with_spans(text)
    assert [t for t, _, _ in spans] == reference_tokenize(text)
    ends = [0]
    for token, start, end in spans:
        assert ends[-1] <= start < end <= len(text)
        assert tokenizer.tokenize(text[start:end]) == [token]  # the cut span gives back the token
        ends.append(end)


@settings(max_examples=80, deadline=None)
@given(text=texts, use_stemmer=st.booleans())
def test_rouge_spans_give_back_rouge_score_tokens(text, use_stemmer):
    library = RougeDefault(use_stemmer)
    _check_rouge_tokens(text, make_tokenizer("default", use_stemmer), library.tokenize)


@settings(max_examples=80, deadline=None)
@given(text=texts)
def test_bleu_spans_give_back_sacrebleu_tokens(text):
    spans = bleu_tokens_with_spans(text)
    assert [t for t, _, _ in spans] == sacrebleu.BLEU().tokenizer(text.rstrip()).split()
    previous_end = 0
    for token, start, end in spans:
        assert previous_end <= start < end <= len(text)
        # 13a's rules look at neighbours (".0" after "." stays whole), so a cut span may split further,
        # but it holds exactly the token's characters
        assert "".join(bleu_tokens(text[start:end])) == token
        previous_end = end


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a &amp; b", [["a", 0, 1], ["&", 2, 7], ["b", 8, 9]]),
        ("well-\nknown fact.", [["wellknown", 0, 11], ["fact", 12, 16], [".", 16, 17]]),
        ("..0 x<skipped>y", [[".", 0, 1], [".0", 1, 3], ["xy", 4, 15]]),
        (
            "x<skipped>y 3.5, 1-2",
            [["xy", 0, 11], ["3.5", 12, 15], [",", 15, 16], ["1", 17, 18], ["-", 18, 19], ["2", 19, 20]],
        ),
    ],
)
def test_bleu_spans_of_13a_rewrites(text, expected):
    assert [list(t) for t in bleu_tokens_with_spans(text)] == expected


def test_rouge_spans_of_characters_that_lowercase_longer():
    # "İ" lowercases to "i" + a combining dot: the token "i" is the whole "İ"; "K" (Kelvin) becomes "k"
    spans = make_tokenizer("default", False).tokenize_with_spans("İstanbul \u212aelvin")
    assert [list(t) for t in spans] == [["i", 0, 1], ["stanbul", 1, 8], ["kelvin", 9, 15]]


def _clipped_overlap(pred, ref, n):
    p = collections.Counter(tuple(pred[i : i + n]) for i in range(len(pred) - n + 1))
    r = collections.Counter(tuple(ref[i : i + n]) for i in range(len(ref) - n + 1))
    return sum(min(c, r[g]) for g, c in p.items())


def _grams(tokens, starts, n):
    return collections.Counter(tuple(tokens[i : i + n]) for i in starts)


def _check_alignment(prediction, references, use_stemmer):
    example = score([prediction], [references], use_stemmer=use_stemmer, confidence=False)["examples"][0]
    overlap = example["overlap"]
    shown = overlap["reference_index"]
    rp = [t for t, _, _ in overlap["tokens"]["rouge"]["prediction"]]
    rr = [t for t, _, _ in overlap["tokens"]["rouge"]["reference"]]
    stemmer = RougeDefault(use_stemmer)
    assert rp == stemmer.tokenize(prediction) and rr == stemmer.tokenize(references[shown])
    for n, kind in ((1, "rouge1"), (2, "rouge2")):
        marks = overlap["matches"][kind]
        assert len(set(marks["prediction"])) == len(marks["prediction"]) == _clipped_overlap(rp, rr, n)
        assert len(set(marks["reference"])) == len(marks["reference"]) == _clipped_overlap(rp, rr, n)
        assert _grams(rp, marks["prediction"], n) == _grams(rr, marks["reference"], n)
    lcs = overlap["matches"]["rougeL"]
    assert lcs["reference"] == (rouge_scorer.lcs_ind(rr, rp) if rp and rr else [])
    assert [rp[j] for j in lcs["prediction"]] == [rr[i] for i in lcs["reference"]]
    table_len = rouge_scorer._lcs_table(rr, rp)[-1][-1] if rp and rr else 0
    assert len(lcs["prediction"]) == table_len
    if len(references) == 1:
        assert example["rougeL"]["precision"] == (table_len / len(rp) if rp and rr else 0)

    bp = [t for t, _, _ in overlap["tokens"]["bleu"]["prediction"]]
    br = [t for t, _, _ in overlap["tokens"]["bleu"]["reference"]]
    assert br == bleu_tokens(references[shown])
    stats = sacrebleu.BLEU(effective_order=True).sentence_score(prediction, references)
    for n in range(1, 5):
        marks = overlap["matches"][f"bleu{n}"]
        assert len(marks["prediction"]) == stats.counts[n - 1] == example["bleu_detail"]["counts"][n - 1]
        assert len(set(marks["prediction"])) == len(marks["prediction"])
        shown_grams, pred_grams = _grams(br, marks["reference"], n), _grams(bp, marks["prediction"], n)
        assert not shown_grams - pred_grams  # every marked reference n-gram is a matched prediction n-gram
        if len(references) == 1:
            assert shown_grams == pred_grams


@settings(max_examples=80, deadline=None)
@given(prediction=texts, reference=texts, use_stemmer=st.booleans())
def test_overlap_counts_equal_metric_counts(prediction, reference, use_stemmer):
    _check_alignment(prediction, [reference], use_stemmer)


@settings(max_examples=40, deadline=None)
@given(prediction=texts, references=st.lists(texts, min_size=2, max_size=3))
def test_overlap_with_several_references(prediction, references):
    _check_alignment(prediction, references, True)


def test_overlap_on_dialogsum_pairs(shared_data):
    import json

    with open(shared_data / "dialogsum" / "dialogsum.test.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle][:60]
    for row in rows:
        _check_alignment(row["summary1"], [row["summary2"]], True)
        _check_alignment(row["summary1"], [row["summary2"], row["summary3"]], False)


def test_bleu_multi_reference_clips_by_the_largest_count():
    alignment = OverlapAlignment.build("the the the cat", ["the cat", "the the dog"], reference_index=0)
    pred, ref = alignment.matches["bleu1"]
    assert pred == [0, 1, 3]  # "the" clipped to 2 (reference 2 has it twice), "cat" once
    assert ref == [0, 1]  # in the shown reference: its one "the" and "cat"


def test_unicode_tokenizer_keeps_non_latin_words_and_agrees_on_ascii():
    tok = UnicodeTokenizer(use_stemmer=True)
    assert tok.tokenize("Привет, мир! 日本語 café") == ["привет", "мир", "日", "本", "語", "café"]
    text = "The dogs were running, 3.5 times faster (U.S.)"
    assert tok.tokenize(text) == rouge_tokenize.tokenize(text, RougeDefault(True)._stemmer)
    for token, start, end in tok.tokenize_with_spans("नमस्ते दुनिया"):  # vowel signs stay inside the word
        assert tok.tokenize("नमस्ते दुनिया"[start:end]) == [token]
    assert len(tok.tokenize("नमस्ते दुनिया")) == 2


@settings(max_examples=60, deadline=None)
@given(text=texts, use_stemmer=st.booleans())
def test_unicode_tokenizer_spans_give_back_tokens(text, use_stemmer):
    tok = UnicodeTokenizer(use_stemmer)
    _check_rouge_tokens(text, tok, tok.tokenize)
