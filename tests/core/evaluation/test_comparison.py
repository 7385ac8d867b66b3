"""The one base-vs-tuned comparison (verdict, McNemar, intervals) and the one validation of check settings."""

from __future__ import annotations

import pytest

from ift_desktop.core.errors import EvaluationError
from ift_desktop.core.evaluation import classification, inputs, mmlu
from ift_desktop.core.evaluation.comparison import ALPHA, accuracy_record, compare_accuracy, verdict
from ift_desktop.core.evaluation.forgetting import ClassificationCheck, MMLUCheck


def _side(correct: list[bool], **extra) -> dict:
    examples = [{"subject": "s", "index": i, "correct": c} for i, c in enumerate(correct)]
    return {"accuracy": sum(correct) / len(correct), "examples": examples, **extra}


def test_verdict_is_one_rule_for_every_check():
    assert verdict(-0.1, ALPHA / 2) == "forgetting"
    assert verdict(0.1, ALPHA / 2) == "improved"
    assert verdict(-0.3, ALPHA) == "no significant change"  # not below alpha


def test_mmlu_and_classification_compare_the_same_way():
    base = _side([True] * 8 + [False] * 2)
    tuned = _side([False] * 7 + [True] + [False] * 2)
    by_subject = mmlu.compare(
        {**base, "subjects": {"s": {"accuracy": 0.8, "n": 10}}},
        {**tuned, "subjects": {"s": {"accuracy": 0.1, "n": 10}}},
    )
    by_class = classification.compare(
        {**base, "labels": ["s"], "per_class": {"s": {"accuracy": 0.8, "n": 10}}},
        {**tuned, "labels": ["s"], "per_class": {"s": {"accuracy": 0.1, "n": 10}}},
    )
    for view in (by_subject, by_class):
        assert view["paired"] == {
            "n": 10,
            "only_base_correct": 7,
            "only_tuned_correct": 0,
            "mcnemar_p": pytest.approx(2 / 2**7),
        }
        assert view["verdict"] == "forgetting" and view["overall"]["delta"] == pytest.approx(-0.7)
        low, high = view["overall"]["delta_ci95"]
        assert low <= -0.7 <= high < 0
    assert list(by_subject) == ["overall", "subjects", "paired", "verdict"]  # the benchmark file's keys
    assert list(by_class) == ["overall", "classes", "paired", "verdict"]


def test_items_are_paired_by_key_not_by_position():
    base = _side([True, False, True])
    tuned = {"accuracy": 2 / 3, "examples": list(reversed(_side([True, False, True])["examples"]))}
    cmp = compare_accuracy(base, tuned, groups_key="subjects", groups={}, item_key=lambda e: e["index"])
    assert cmp["paired"]["only_base_correct"] == cmp["paired"]["only_tuned_correct"] == 0
    assert cmp["verdict"] == "no significant change"


def test_accuracy_record_is_the_forgetting_shape():
    base = _side([True] * 6 + [False] * 4, chance=0.25, ci95=[0.3, 0.8])
    tuned = _side([True] * 9 + [False], ci95=[0.6, 0.98])
    cmp = compare_accuracy(base, tuned, groups_key="subjects", groups={"s": {"n": 10}}, item_key=lambda e: e["index"])
    record = accuracy_record(cmp, base, tuned, groups_key="subjects")
    assert record["groups"] == [{"name": "s", "n": 10}] and record["chance"] == 0.25
    assert record["overall"]["base_ci95"] == [0.3, 0.8] and record["overall"]["n"] == 10
    assert record["test"]["name"] == "McNemar" and record["test"]["only_tuned"] == 3
    assert record["verdict"] == cmp["verdict"]


def test_shots_are_checked_with_one_wording(tmp_path):
    for make in (lambda: MMLUCheck(str(tmp_path), shots=6), lambda: inputs.check_mmlu_shots(6)):
        with pytest.raises(EvaluationError, match=r"^Shots is 6; use 0 \(zero-shot\) to 5: "):
            make()
    for make in (lambda: ClassificationCheck(shots=33), lambda: inputs.check_classification_shots(-1)):
        with pytest.raises(EvaluationError, match=r"use 0 \(zero-shot\) to 32\.$"):
            make()
    with pytest.raises(EvaluationError, match="2 shots leave none of the 2 rows"):
        inputs.check_shots_leave_rows(2, 2)


def test_subjects_and_words(tmp_path):
    for subject in ("anatomy", "virology"):
        (tmp_path / f"{subject}_test.csv").write_text("q,a,b,c,d,A\n")
    assert inputs.chosen_subjects(tmp_path, None) == ["anatomy", "virology"]
    assert inputs.chosen_subjects(tmp_path, ["virology"]) == ["virology"]
    with pytest.raises(EvaluationError, match="Unknown MMLU subject.*law.*available: anatomy, virology"):
        inputs.chosen_subjects(tmp_path, ["law"])
    with pytest.raises(EvaluationError, match="No subject ticked"):
        MMLUCheck(str(tmp_path), subjects=[])
    assert inputs.words(" negative, positive ,") == ["negative", "positive"]
    assert inputs.words("") is None and inputs.words(None) is None and inputs.words(" , ") is None
