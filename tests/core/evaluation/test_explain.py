"""The metric explanations use the example's own counts, and those counts reproduce its scores."""

from __future__ import annotations

import math

import pytest

from ift_desktop.core.evaluation.explain import KINDS, explain_example
from ift_desktop.core.evaluation.metrics import score


def _example(prediction, references=("It is cold outside",)):
    return score([prediction], [list(references)], confidence=False)["examples"][0]


def test_rouge1_explanation_for_the_repeated_word():
    out = explain_example(_example("cold cold cold cold"), "rouge1")
    assert out["numbers"] == {
        "n": 1,
        "matched": 1,
        "prediction_total": 4,
        "reference_total": 4,
        "precision": 0.25,
        "recall": 0.25,
        "fmeasure": 0.25,
    }
    text = "\n".join(out["lines"])
    assert "Precision = matched / prediction words = 1 / 4 = 0.250." in text
    assert "Recall = matched / reference words = 1 / 4 = 0.250." in text
    assert "clipping" in text


def test_rouge_l_explanation_for_the_reordered_words():
    out = explain_example(_example("outside cold it is"), "rougeL")
    assert out["numbers"]["lcs"] == 2
    assert "LCS / prediction words = 2 / 4 = 0.500" in "\n".join(out["lines"])


def test_bleu_explanation_names_smoothing_and_reproduces_the_score():
    example = _example("outside cold it is")
    out = explain_example(example, "bleu")
    numbers = out["numbers"]
    assert numbers["counts"] == [3, 0, 0, 0] and numbers["totals"] == [4, 3, 2, 1]
    assert numbers["bp"] == 1.0
    text = "\n".join(out["lines"])
    assert "smooths" in text and "p1 = 3 / 4 = 75.0%" in text
    recomputed = numbers["bp"] * math.exp(sum(math.log(p) for p in numbers["precisions"]) / 4)
    assert recomputed == pytest.approx(example["bleu"], rel=1e-12)


def test_bleu_brevity_penalty_line():
    out = explain_example(_example("cold outside"), "bleu")
    assert out["numbers"]["bp"] == pytest.approx(math.exp(1 - 4 / 2))
    assert "exp(1 − 4/2)" in "\n".join(out["lines"])
    assert "too short for 3-grams" in "\n".join(out["lines"])


@pytest.mark.parametrize("prediction", ["cold cold cold cold", "outside cold it is", "", "The weather is cold."])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_explains_every_seed_example(prediction, kind):
    example = _example(prediction)
    out = explain_example(example, kind)
    assert out["title"] and out["lines"] and all(isinstance(line, str) and line for line in out["lines"])
    numbers = out["numbers"]
    if kind.startswith("rouge") and kind != "rougeLsum":
        matched = numbers.get("matched", numbers.get("lcs"))
        assert numbers["precision"] == (matched / numbers["prediction_total"] if numbers["prediction_total"] else 0)
        assert numbers["recall"] == (matched / numbers["reference_total"] if numbers["reference_total"] else 0)
    if kind.startswith("bleu") and kind != "bleu":
        assert numbers["matched"] == len(example["overlap"]["matches"][kind]["prediction"])


def test_multi_reference_note_when_the_metric_used_another_reference():
    example = _example("the cat sat", references=("a cat sat on the mat today", "the cat"))
    example["best_reference_by_metric"]["rouge1"] = 1 - example["best_reference_index"]
    assert explain_example(example, "rouge1")["lines"][0].startswith("Note:")


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown metric kind"):
        explain_example(_example("cold"), "meteor")


def test_bleu1_names_the_case_sensitive_miss():
    lines = explain_example(_example("outside cold it is"), "bleu1")["lines"]
    assert any("case-sensitive: 'it' ≠ 'It'" in line for line in lines)
    assert not any(line.startswith("Not matched") for line in explain_example(_example("cold it"), "bleu2")["lines"])


def test_bleu_final_line_shows_the_geometric_mean():
    lines = explain_example(_example("cold outside"), "bleu")["lines"]
    assert lines[-1] == "BLEU = BP × (100.0 × 100.0)^(1/2) = 0.368 × 100.00 = 36.79."
