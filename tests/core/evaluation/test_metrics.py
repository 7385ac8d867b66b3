"""`score` equals rouge_score and sacrebleu exactly: seed examples, random texts, DialogSum pairs."""

from __future__ import annotations

import json

import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from ift_desktop.core.errors import EvaluationError
from ift_desktop.core.evaluation.metrics import ROUGE_TYPES, score

REFERENCE = "It is cold outside"

# (prediction, rouge1 F, rouge2 F, rougeL F, sentence BLEU (sacrebleu exp smoothing, by hand))
SEED = [
    ("cold cold cold cold", 0.25, 0.0, 0.25, (25.0 * (100 / 6) * 12.5 * 12.5) ** 0.25),
    ("outside cold it is", 1.0, 1 / 3, 0.5, (75.0 * (100 / 6) * 12.5 * 12.5) ** 0.25),
    ("", 0.0, 0.0, 0.0, 0.0),
]


@pytest.mark.parametrize("prediction, rouge1, rouge2, rouge_l, bleu", SEED)
def test_seed_examples_pinned(prediction, rouge1, rouge2, rouge_l, bleu):
    example = score([prediction], [[REFERENCE]], confidence=False)["examples"][0]
    assert example["rouge1"]["fmeasure"] == pytest.approx(rouge1, abs=1e-12)
    assert example["rouge2"]["fmeasure"] == pytest.approx(rouge2, abs=1e-12)
    assert example["rougeL"]["fmeasure"] == pytest.approx(rouge_l, abs=1e-12)
    assert example["rougeLsum"]["fmeasure"] == pytest.approx(rouge_l, abs=1e-12)
    assert example["bleu"] == pytest.approx(bleu, rel=1e-12)


def _assert_equals_libraries(predictions, references, use_stemmer):
    result = score(predictions, references, use_stemmer=use_stemmer, confidence=False)
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)
    for prediction, refs, example in zip(predictions, references, result["examples"]):
        expected = scorer.score(refs[0], prediction) if len(refs) == 1 else scorer.score_multi(refs, prediction)
        for rouge_type in ROUGE_TYPES:
            assert example[rouge_type] == {
                "precision": expected[rouge_type].precision,
                "recall": expected[rouge_type].recall,
                "fmeasure": expected[rouge_type].fmeasure,
            }, rouge_type
        assert example["bleu"] == sacrebleu.sentence_bleu(prediction, refs).score
    n = len(predictions)
    for rouge_type in ROUGE_TYPES:
        for key in ("precision", "recall", "fmeasure"):
            mean = sum(e[rouge_type][key] for e in result["examples"]) / n
            assert result["corpus"][rouge_type][key] == mean
    width = max(len(r) for r in references)
    streams = [[r[k] if k < len(r) else None for r in references] for k in range(width)]
    bleu = sacrebleu.BLEU()
    expected = bleu.corpus_score(predictions, streams)
    assert result["corpus"]["bleu"] == {
        "score": expected.score,
        "precisions": expected.precisions,
        "bp": expected.bp,
        "sys_len": expected.sys_len,
        "ref_len": expected.ref_len,
        "signature": str(bleu.get_signature()),
    }
    json.dumps(result)  # the whole result is plain JSON
    return result


WORDS = [
    "cold",
    "Cold",
    "COLD",
    "outside",
    "running",
    "runs",
    "ran",
    "it",
    "is",
    "the",
    "The",
    "a",
    "3.5",
    "1,000",
    "42",
    "e.g.",
    "U.S.",
    "don't",
    "well-known",
    "&amp;",
    "&lt;b&gt;",
    "<skipped>",
    "café",
    "naïve",
    "İstanbul",
    "\u212a",
    "日本語",
    "Привет",
    "ΑΣ",
    "x-\ny",
    "…",
    "—",
    "'quote'",
    '"q"',
    "(paren)",
    "end.",
    "5-6",
    "dogs",
]
SEPS = [" ", "  ", "\n", "\t", ", ", ". ", "-", "", " - ", "\u00a0", "\u3000", "-\n", "?! "]
texts = st.one_of(
    st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPS)), max_size=10).map(
        lambda parts: "".join(w + s for w, s in parts)
    ),
    st.text(max_size=25),
)


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(texts, texts), min_size=1, max_size=4), use_stemmer=st.booleans())
def test_random_texts_equal_rouge_score_and_sacrebleu(pairs, use_stemmer):
    _assert_equals_libraries([p for p, _ in pairs], [[r] for _, r in pairs], use_stemmer)


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(st.tuples(texts, st.lists(texts, min_size=1, max_size=3)), min_size=1, max_size=3),
    use_stemmer=st.booleans(),
)
def test_random_multi_reference_equals_score_multi_and_sacrebleu(rows, use_stemmer):
    _assert_equals_libraries([p for p, _ in rows], [refs for _, refs in rows], use_stemmer)


@pytest.fixture(scope="module")
def dialogsum_test(shared_data):
    with open(shared_data / "dialogsum" / "dialogsum.test.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.mark.parametrize("use_stemmer", [True, False])
def test_dialogsum_references_scored_against_each_other(dialogsum_test, use_stemmer):
    rows = dialogsum_test[:200]
    result = _assert_equals_libraries([r["summary1"] for r in rows], [[r["summary2"]] for r in rows], use_stemmer)
    # the two human summaries agree far more than chance, and far less than perfectly
    assert 0.3 < result["corpus"]["rougeL"]["fmeasure"] < 0.7
    assert 10 < result["corpus"]["bleu"]["score"] < 60


def test_dialogsum_best_of_two_references(dialogsum_test):
    rows = dialogsum_test[:100]
    single = score([r["summary1"] for r in rows], [[r["summary2"]] for r in rows], confidence=False)
    multi = _assert_equals_libraries(
        [r["summary1"] for r in rows], [[r["summary2"], r["summary3"]] for r in rows], True
    )
    assert multi["corpus"]["rougeL"]["fmeasure"] > single["corpus"]["rougeL"]["fmeasure"]
    assert "nrefs:2" in multi["corpus"]["bleu"]["signature"]
    chosen = [e["best_reference_by_metric"]["rougeL"] for e in multi["examples"]]
    assert set(chosen) == {0, 1}
    assert [e["best_reference_index"] for e in multi["examples"]] == chosen


def test_variable_number_of_references_gives_var_signature():
    result = _assert_equals_libraries(
        ["a cat sat", "dogs run"], [["a cat sat down"], ["dogs ran", "the dogs run"]], True
    )
    assert "nrefs:var" in result["corpus"]["bleu"]["signature"]


def test_empty_prediction_scores_zero_and_is_kept():
    result = score(["", "it is cold"], [[REFERENCE], [REFERENCE]], confidence=False)
    assert len(result["examples"]) == 2
    assert result["examples"][0]["rouge1"]["fmeasure"] == 0.0 and result["examples"][0]["bleu"] == 0.0
    assert result["corpus"]["rouge1"]["fmeasure"] == pytest.approx(result["examples"][1]["rouge1"]["fmeasure"] / 2)
    assert [w["code"] for w in result["warnings"]] == ["empty_predictions"]


def test_stemmer_switch_changes_the_match():
    on = score(["the dogs were running"], [["the dog runs"]], confidence=False)["examples"][0]
    off = score(["the dogs were running"], [["the dog runs"]], use_stemmer=False, confidence=False)["examples"][0]
    assert on["rouge1"]["fmeasure"] > off["rouge1"]["fmeasure"]
    assert [t[0] for t in on["overlap"]["tokens"]["rouge"]["prediction"]] == ["the", "dog", "were", "run"]
    assert [t[0] for t in off["overlap"]["tokens"]["rouge"]["prediction"]] == ["the", "dogs", "were", "running"]


@pytest.mark.parametrize(
    "predictions, references, message",
    [
        ([], [], "no predictions"),
        (["a"], [["a"], ["b"]], "1 predictions but 2 reference sets"),
        (["a"], [[]], "no reference"),
    ],
)
def test_bad_inputs_raise_user_errors(predictions, references, message):
    with pytest.raises(EvaluationError, match=message):
        score(predictions, references)


def test_unknown_tokenizer_is_a_user_error():
    with pytest.raises(EvaluationError, match="Unknown tokenizer"):
        score(["a"], [["a"]], tokenizer="whitespace")
