"""The forgetting check: base vs fine-tuned on held-out MMLU questions or another instruction task."""

from __future__ import annotations

import json
import threading

import pytest
from forgetting_helpers import write_mmlu
from tiny_models import make_lora_run, make_tiny_dataset, make_tiny_llama

from ift_desktop.core.errors import Cancelled, EvaluationError, ModelError
from ift_desktop.core.evaluation.classification import read_labelled, run_classification
from ift_desktop.core.evaluation.forgetting import (
    ClassificationCheck,
    MMLUCheck,
    TaskCheck,
    builtin_checks,
    caveats,
    check_forgetting,
    list_forgetting,
    read_forgetting,
    summary_line,
)
from ift_desktop.core.evaluation.mmlu import run_mmlu
from ift_desktop.core.models import ModelSpec, load_model
from ift_desktop.core.progress import TaskState


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("forget")
    base = make_tiny_llama(root / "llama")
    return {
        "base": base,
        "run": make_lora_run(root / "run", base),
        "mmlu": write_mmlu(root / "mmlu"),
        "data": make_tiny_dataset(root / "data", n=4, val=2, test=5),
    }


def test_mmlu_check_matches_each_side_and_saves(tiny, tmp_path):
    messages = []
    state = TaskState(on_progress=lambda f, m: messages.append((f, m)))
    out = tmp_path / "evaluations" / "forgetting"
    result = check_forgetting(tiny["run"], MMLUCheck(str(tiny["mmlu"]), shots=2, limit=None), out_dir=out, state=state)

    # the two sides are exactly run_mmlu of the base model and of the fine-tuned one
    base = run_mmlu(load_model(ModelSpec.parse(str(tiny["base"]))), tiny["mmlu"], shots=2)
    tuned = run_mmlu(load_model(ModelSpec.parse(str(tiny["run"]))), tiny["mmlu"], shots=2)
    assert [e["predicted"] for e in result["base_result"]["examples"]] == [e["predicted"] for e in base["examples"]]
    assert [e["predicted"] for e in result["tuned_result"]["examples"]] == [e["predicted"] for e in tuned["examples"]]
    assert result["overall"]["base"] == pytest.approx(base["accuracy"])
    assert result["overall"]["tuned"] == pytest.approx(tuned["accuracy"])
    assert result["overall"]["delta"] == pytest.approx(tuned["accuracy"] - base["accuracy"])
    assert [g["name"] for g in result["groups"]] == ["astronomy", "virology"]
    assert all(g["n"] == 4 for g in result["groups"]) and result["overall"]["n"] == 8
    test = result["test"]
    discordant = sum(b["correct"] != t["correct"] for b, t in zip(base["examples"], tuned["examples"]))
    assert test["name"] == "McNemar" and test["only_base"] + test["only_tuned"] == discordant
    assert result["verdict"] in ("forgetting", "improved", "no significant change")
    assert (
        result["summary"] == summary_line(result) and "MMLU" in result["summary"] and "(McNemar p " in result["summary"]
    )
    assert result["run_name"] == "run" and result["method"] == "lora"
    assert result["base_model"]["name_or_path"] == str(tiny["base"].resolve())

    # saved atomically under the forgetting folder, readable and listed
    path = out / "forgetting-run-mmlu.json"
    assert result["path"] == str(path) and path.is_file()
    stored = read_forgetting(path)
    assert stored["overall"] == json.loads(json.dumps(result["overall"]))
    listed = list_forgetting(out)
    assert [item["name"] for item in listed] == ["forgetting-run-mmlu"] and listed[0]["summary"] == result["summary"]
    # progress: base first, then fine-tuned, ending at 1.0
    texts = [m for _f, m in messages]
    first_tuned = next(i for i, m in enumerate(texts) if m.startswith("Fine-tuned"))
    assert any(m.startswith("Base: MMLU") for m in texts[:first_tuned]) and messages[-1][0] == 1.0


def test_task_check_scores_rouge_with_a_paired_test(tiny, tmp_path):
    check = TaskCheck(str(tiny["data"]), limit=3, max_new_tokens=4, batch_size=3)
    result = check_forgetting(tiny["run"], check, out_dir=tmp_path)
    assert result["metric"] == "rougeL" and result["test"]["name"] == "paired randomization"
    base_scores = [e["rougeL"]["fmeasure"] for e in result["base_result"]["examples"]]
    assert len(base_scores) == 3 and result["overall"]["base"] == pytest.approx(sum(base_scores) / 3)
    assert [g["name"] for g in result["groups"]] == ["summarization"] and result["groups"][0]["n"] == 3
    assert result["groups"][0]["delta"] == pytest.approx(result["overall"]["delta"])
    assert 0 < result["test"]["p_value"] <= 1
    # both sides were prompted the way the run was trained (no chat template)
    assert result["base_result"]["generation"]["use_chat_template"] is False
    assert result["tuned_result"]["generation"]["use_chat_template"] is False
    assert "overlap" not in result["base_result"]["examples"][0]
    assert (tmp_path / "forgetting-run-data.json").is_file() and (
        "ROUGE-L points on data (" in result["summary"] or "(ROUGE-L) unchanged" in result["summary"]
    )
    again = check_forgetting(tiny["run"], check, out_dir=tmp_path)  # a second check keeps the first
    assert again["path"].endswith("forgetting-run-data-2.json") and len(list_forgetting(tmp_path)) == 2


def test_cancel_writes_nothing(tiny, tmp_path):
    cancel = threading.Event()

    def progress(_fraction, message):
        if message.startswith("Fine-tuned"):
            cancel.set()

    state = TaskState(on_progress=progress, cancel_event=cancel)
    with pytest.raises(Cancelled):
        check_forgetting(tiny["run"], MMLUCheck(str(tiny["mmlu"]), shots=0, limit=2), out_dir=tmp_path, state=state)
    assert list(tmp_path.iterdir()) == []


def test_expected_failures_before_loading(tiny, tmp_path):
    with pytest.raises(EvaluationError, match="Unknown MMLU subject"):
        check_forgetting(tiny["run"], MMLUCheck(str(tiny["mmlu"]), subjects=["law"]), out_dir=tmp_path)
    with pytest.raises(EvaluationError, match="does not exist"):
        check_forgetting(tiny["run"], MMLUCheck(str(tmp_path / "nowhere")), out_dir=tmp_path)
    with pytest.raises(EvaluationError, match="Shots is 7"):
        MMLUCheck(str(tiny["mmlu"]), shots=7)
    with pytest.raises(EvaluationError, match="has no 'nope' split"):
        check_forgetting(tiny["run"], TaskCheck(str(tiny["data"]), split="nope"), out_dir=tmp_path)
    unfinished = make_lora_run(tmp_path / "unfinished", tiny["base"], with_adapter=False)
    with pytest.raises(ModelError, match="no saved adapter"):
        check_forgetting(unfinished, MMLUCheck(str(tiny["mmlu"])), out_dir=tmp_path)
    with pytest.raises(EvaluationError, match="not a training run"):
        check_forgetting(tiny["base"], MMLUCheck(str(tiny["mmlu"])), out_dir=tmp_path)
    (tmp_path / "bad.json").write_text('{"kind": "evaluation"}')
    with pytest.raises(EvaluationError, match="not a forgetting-check result"):
        read_forgetting(tmp_path / "bad.json")
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".json"] == ["bad.json"]


def _result(delta, p, verdict, metric="accuracy", base=0.5, n=40):
    return {
        "overall": {"base": base, "tuned": base + delta, "delta": delta, "n": n, "base_ci95": [0.2, 0.6]},
        "check": {"label": "MMLU" if metric == "accuracy" else "reviews"},
        "metric": metric,
        "metric_label": "accuracy" if metric == "accuracy" else "ROUGE-L",
        "chance": 0.25 if metric == "accuracy" else None,
        "test": {"name": "McNemar", "p_value": p},
        "verdict": verdict,
    }


@pytest.mark.parametrize(
    "delta, p, verdict, expected",
    [
        (-0.06, 0.031, "forgetting", "Fine-tuning cost 6.0 points on MMLU (McNemar p = 0.03): likely forgetting"),
        (
            0.021,
            0.41,
            "no significant change",
            "Fine-tuning gained 2.1 points on MMLU (McNemar p = 0.41): no significant change",
        ),
        (
            0.0,
            1.0,
            "no significant change",
            "Fine-tuning left MMLU unchanged (McNemar p = 1.00): no significant change",
        ),
        (0.12, 0.0004, "improved", "Fine-tuning gained 12.0 points on MMLU (McNemar p < 0.001): a real improvement"),
    ],
)
def test_summary_in_words(delta, p, verdict, expected):
    assert summary_line(_result(delta, p, verdict)) == expected


def test_summary_names_the_metric_of_a_task_check():
    result = {
        **_result(-0.031, 0.2, "no significant change", metric="rougeL"),
        "test": {"name": "paired randomization", "p_value": 0.2},
    }
    assert summary_line(result) == (
        "Fine-tuning cost 3.1 ROUGE-L points on reviews (paired randomization p = 0.20): no significant change"
    )


def test_caveats_name_chance_and_small_samples():
    notes = caveats(_result(-0.02, 0.5, "no significant change"))
    assert any("chance (25 %)" in n for n in notes) and any("Only 40 paired items" in n for n in notes)
    assert caveats({**_result(-0.02, 0.5, "x", metric="rougeL", n=500)}) == []


def test_shared_mmlu_with_the_tiny_model(tiny, shared_data, tmp_path):
    subjects = ["machine_learning", "nutrition"]
    result = check_forgetting(
        tiny["run"], MMLUCheck(str(shared_data / "mmlu"), subjects=subjects, shots=1, limit=2), out_dir=tmp_path
    )
    assert [g["name"] for g in result["groups"]] == subjects
    assert result["overall"]["n"] == 4 and all(g["n"] == 2 for g in result["groups"])
    assert {e["subject"] for e in result["tuned_result"]["examples"]} == set(subjects)


def test_classification_check_on_the_builtin_reviews(tiny, tmp_path):
    check = builtin_checks()[0].check
    assert check.source == "sample:reviews" and check.kind == "classification"
    check.limit = 12
    out = tmp_path / "reviews.json"
    result = check_forgetting(tiny["run"], check, out_path=out)
    assert result["path"] == str(out) and json.loads(out.read_text())["summary"] == result["summary"]

    # each side is run_classification of that model, prompted as the run was trained (no chat template)
    rows = read_labelled("sample:reviews", "review", "sentiment", limit=12)
    base = run_classification(load_model(ModelSpec.parse(str(tiny["base"]))), rows, use_chat_template=False)
    tuned = run_classification(load_model(ModelSpec.parse(str(tiny["run"]))), rows, use_chat_template=False)
    assert [e["predicted"] for e in result["base_result"]["examples"]] == [e["predicted"] for e in base["examples"]]
    assert [e["predicted"] for e in result["tuned_result"]["examples"]] == [e["predicted"] for e in tuned["examples"]]
    overall = result["overall"]
    assert (overall["base"], overall["tuned"], overall["n"]) == (base["accuracy"], tuned["accuracy"], 12)
    assert overall["base_ci95"] == base["ci95"] and overall["delta_low"] <= overall["delta"] <= overall["delta_high"]
    assert {g["name"] for g in result["groups"]} == {"negative", "positive"}
    assert sum(g["n"] for g in result["groups"]) == 12
    flips = sum(b["correct"] != t["correct"] for b, t in zip(base["examples"], tuned["examples"]))
    assert result["test"]["name"] == "McNemar" and result["test"]["only_base"] + result["test"]["only_tuned"] == flips
    assert result["check"]["label"] == "built-in reviews (sentiment)" and result["check"]["in_training_data"] is False
    assert result["chance_label"] == "majority class"


def test_a_check_on_the_runs_own_training_data_is_flagged(tiny, tmp_path):
    record = json.loads((tiny["run"] / "run.json").read_text())
    record["data"] = {"manifest": {"source": "sample", "components": [{"source": "sample:reviews"}]}}
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps(record))
    (run / "adapter").symlink_to(tiny["run"] / "adapter")
    result = check_forgetting(run, ClassificationCheck(limit=4), out_dir=tmp_path / "out")
    assert result["check"]["in_training_data"] is True
    assert any("not held out" in note for note in caveats(result))


def test_classification_check_bad_input_fails_before_loading(tiny, tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("text,label\ngood,positive\nfine,positive\n")
    with pytest.raises(EvaluationError, match="one label only"):
        check_forgetting(tiny["run"], ClassificationCheck(str(path), "text", "label"), out_dir=tmp_path)
    with pytest.raises(EvaluationError, match="Column 'sentence'"):
        check_forgetting(tiny["run"], ClassificationCheck(str(path), "sentence", "label"), out_dir=tmp_path)
    assert not list(tmp_path.glob("*.json"))


def test_builtin_everyday_knowledge_set():
    from ift_desktop.core.evaluation.mmlu import list_subjects, read_questions

    check = builtin_checks()[1].check
    assert check.kind == "mmlu" and check.is_builtin and check.label == "built-in everyday knowledge"
    assert list_subjects(check.data_dir) == ["everyday_knowledge"]
    questions = read_questions(f"{check.data_dir}/everyday_knowledge_test.csv", "everyday_knowledge")
    assert len(questions) == 40 and {q.answer for q in questions} == set("ABCD")
    assert sorted(q.answer for q in questions) == sorted("ABCD" * 10)  # answers balanced: chance is 25 %
    assert len(read_questions(f"{check.data_dir}/everyday_knowledge_dev.csv", "everyday_knowledge")) == 5
