"""Bootstrap intervals, the paired base-vs-tuned test and degenerate-score warnings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sacrebleu

from ift_desktop.core.errors import Cancelled, EvaluationError
from ift_desktop.core.evaluation.metrics import score
from ift_desktop.core.evaluation.stats import METRICS, bootstrap_ci, corpus_bleu_from_stats, paired_test
from ift_desktop.core.progress import TaskState


@pytest.fixture(scope="module")
def dialogsum(shared_data):
    with open(shared_data / "dialogsum" / "dialogsum.test.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle][:80]


@pytest.fixture(scope="module")
def tuned_and_base(dialogsum):
    refs = [[r["summary1"]] for r in dialogsum]
    tuned = score([r["summary2"] for r in dialogsum], refs, confidence=False)  # a close paraphrase
    base = score([r["topic1"] + " " + r["topic2"] for r in dialogsum], refs, confidence=False)  # topic words only
    return base, tuned


def test_bootstrap_interval_contains_the_value_and_is_reproducible(tuned_and_base):
    _, tuned = tuned_and_base
    first = bootstrap_ci(tuned, n_resamples=300, seed=7)
    again = bootstrap_ci(tuned["examples"], n_resamples=300, seed=7)
    other = bootstrap_ci(tuned, n_resamples=300, seed=8)
    assert first == again
    assert first["metrics"] != other["metrics"]
    for metric in METRICS:
        entry = first["metrics"][metric]
        assert entry["low"] < entry["value"] < entry["high"]
    assert first["metrics"]["rougeL"]["value"] == tuned["corpus"]["rougeL"]["fmeasure"]
    assert first["metrics"]["bleu"]["value"] == pytest.approx(tuned["corpus"]["bleu"]["score"], abs=1e-9)


def test_corpus_bleu_from_example_statistics_equals_sacrebleu(dialogsum):
    preds, refs = [r["summary2"] for r in dialogsum], [r["summary1"] for r in dialogsum]
    result = score(preds, [[r] for r in refs], confidence=False)
    stats = np.array(
        [
            [d["sys_len"], d["ref_len"], *d["counts"], *d["totals"]]
            for d in (e["bleu_detail"] for e in result["examples"])
        ]
    )
    assert corpus_bleu_from_stats(stats.sum(axis=0)) == sacrebleu.corpus_bleu(preds, [refs]).score


def test_paired_test_finds_the_real_improvement(tuned_and_base):
    base, tuned = tuned_and_base
    test = paired_test(base, tuned, n_resamples=400)
    for metric in METRICS:
        entry = test["metrics"][metric]
        assert entry["delta"] > 0 and entry["low"] > 0, metric
        assert entry["p_value"] < 0.01, metric
        assert entry["wins"] + entry["losses"] + entry["ties"] == test["n"] == len(tuned["examples"])
    assert test["metrics"]["rouge1"]["delta"] == pytest.approx(
        tuned["corpus"]["rouge1"]["fmeasure"] - base["corpus"]["rouge1"]["fmeasure"]
    )


def test_paired_test_of_a_model_against_itself_is_not_significant(tuned_and_base):
    _, tuned = tuned_and_base
    test = paired_test(tuned, tuned, n_resamples=200)
    for metric in METRICS:
        entry = test["metrics"][metric]
        assert entry["delta"] == 0 and entry["p_value"] == 1.0 and entry["low"] == entry["high"] == 0


def test_paired_test_needs_the_same_examples(tuned_and_base):
    base, tuned = tuned_and_base
    with pytest.raises(EvaluationError, match="80 and 3 examples"):
        paired_test(tuned, base["examples"][:3])


def test_bootstrap_honours_cancellation(tuned_and_base):
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        bootstrap_ci(tuned_and_base[1], state=state)


def test_all_zero_scores_warn():
    result = score(["alpha beta", "gamma"], [["delta"], ["epsilon zeta"]], confidence=False)
    assert [w["code"] for w in result["warnings"]] == ["all_zero"]


def test_non_latin_text_warns_and_suggests_the_unicode_tokenizer():
    preds, refs = ["Кошка сидит на ковре"], [["Кошка спит на ковре"]]
    default = score(preds, refs, confidence=False)
    assert default["examples"][0]["rouge1"]["fmeasure"] == 0.0  # rouge_score erases every Cyrillic letter
    codes = [w["code"] for w in default["warnings"]]
    assert "erased_text" in codes
    assert "--tokenizer unicode" in next(w["message"] for w in default["warnings"] if w["code"] == "erased_text")
    assert default["settings"]["comparable_with_published_rouge"] is True

    unicode = score(preds, refs, tokenizer="unicode", confidence=False)
    assert unicode["examples"][0]["rouge1"]["fmeasure"] == pytest.approx(0.75)
    assert unicode["settings"]["tokenizer"] == "unicode"
    assert unicode["settings"]["comparable_with_published_rouge"] is False
    assert "not comparable with published ROUGE" in unicode["settings"]["rouge"]
    assert [w["code"] for w in unicode["warnings"]] == ["unicode_tokenizer"]
    assert unicode["examples"][0]["overlap"]["matches"]["rouge1"]["prediction"] == [0, 2, 3]


def test_plain_english_gives_no_warning():
    result = score(["it is cold"], [["It is cold outside"]], confidence=False)
    assert result["warnings"] == []
