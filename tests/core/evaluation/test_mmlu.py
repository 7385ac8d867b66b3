"""MMLU-style multiple choice: reading the CSVs, the prompt, log-likelihoods, accuracy, comparison."""

from __future__ import annotations

import csv

import pytest
import torch
from tiny_models import make_tiny_t5

from ift_desktop.core.errors import EvaluationError
from ift_desktop.core.evaluation import mmlu
from ift_desktop.core.evaluation.comparison import mcnemar_exact, wilson_interval
from ift_desktop.core.evaluation.mmlu import Question, build_prompt, compare, list_subjects, read_questions, run_mmlu
from ift_desktop.core.models import ModelSpec, load_model


@pytest.fixture(scope="module")
def llama(llama):
    """The module's tiny Llama (tests/conftest.py), loaded."""
    return load_model(ModelSpec.parse(str(llama)))


@pytest.fixture(scope="module")
def small_mmlu(tmp_path_factory, shared_data):
    """Two subjects cut from the shared MMLU files: 5 dev + 4 test questions each."""
    folder = tmp_path_factory.mktemp("mmlu")
    for subject in ("global_facts", "machine_learning"):
        for part, n in (("dev", 5), ("test", 4)):
            rows = list(csv.reader(open(shared_data / "mmlu" / f"{subject}_{part}.csv", encoding="utf-8", newline="")))[
                :n
            ]
            with open(folder / f"{subject}_{part}.csv", "w", encoding="utf-8", newline="") as handle:
                csv.writer(handle).writerows(rows)
    return folder


def test_reads_the_shared_mmlu_files(shared_data):
    folder = shared_data / "mmlu"
    subjects = list_subjects(folder)
    assert subjects == ["clinical_knowledge", "global_facts", "high_school_physics", "machine_learning", "nutrition"]
    test_rows = sum(len(read_questions(folder / f"{s}_test.csv", s)) for s in subjects)
    dev_rows = sum(len(read_questions(folder / f"{s}_dev.csv", s)) for s in subjects)
    assert (test_rows, dev_rows) == (930, 25)
    question = read_questions(folder / "machine_learning_dev.csv", "machine_learning")[0]
    assert question.answer == "B" and question.choices[1] == "1/7" and "Add-1 Smoothing" in question.question


def test_standard_prompt_format():
    shot = Question("high_school_physics", 0, "What is 1+1?", ("1", "2", "3", "4"), "B")
    query = Question("high_school_physics", 1, "What is 2+2?", ("4", "5", "6", "7"), "A")
    assert build_prompt(query, [shot]) == (
        "The following are multiple choice questions (with answers) about high school physics.\n\n"
        "What is 1+1?\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n"
        "What is 2+2?\nA. 4\nB. 5\nC. 6\nD. 7\nAnswer:"
    )


def _reference_loglik(model, context, choice):
    ids = torch.tensor([context + choice])
    logp = torch.log_softmax(model(input_ids=ids).logits.float(), -1)[0]
    return sum(float(logp[len(context) - 1 + i, token]) for i, token in enumerate(choice))


@pytest.mark.parametrize("choices", [[[68], [69], [70], [71]], [[35, 68], [35, 69], [35, 70, 71], [35, 71]]])
def test_batched_loglikelihoods_match_unpadded_forward(llama, choices):
    contexts = [[5, 6, 7, 8, 9, 10, 11], [20, 21], [30, 31, 32, 33]]  # different lengths: padding matters
    got = mmlu._loglikelihoods(llama, contexts, choices)
    for row, context in enumerate(contexts):
        for column, choice in enumerate(choices):
            assert got[row][column] == pytest.approx(_reference_loglik(llama.model, context, choice), abs=1e-4)


def test_run_mmlu_accuracy_and_subjects(llama, small_mmlu):
    result = run_mmlu(llama, small_mmlu, shots=2, limit=3, batch_size=2)
    assert result["n"] == 6 and set(result["subjects"]) == {"global_facts", "machine_learning"}
    assert result["accuracy"] == sum(e["correct"] for e in result["examples"]) / 6
    for example in result["examples"]:
        best = max(range(4), key=lambda j: example["loglikelihoods"][j])
        assert example["predicted"] == "ABCD"[best]
        assert example["correct"] == (example["predicted"] == example["answer"])
        assert example["prompt_tokens"] <= llama.context_length
    one = run_mmlu(llama, small_mmlu, shots=0, subjects=["global_facts"], limit=1)
    assert one["n"] == 1 and one["examples"][0]["shots"] == 0


def _direct(loaded, folder, subject, shots, n):
    dev = read_questions(folder / f"{subject}_dev.csv", subject)
    test = read_questions(folder / f"{subject}_test.csv", subject)[:n]
    contexts = [mmlu._context_ids(loaded.tokenizer, build_prompt(q, dev[:shots]), loaded.is_seq2seq) for q in test]
    return mmlu._loglikelihoods(loaded, contexts, mmlu._choice_ids(loaded.tokenizer, loaded.is_seq2seq))


def test_the_cached_shots_prefix_gives_the_same_loglikelihoods(llama, small_mmlu):
    result = run_mmlu(llama, small_mmlu, shots=1, limit=3, subjects=["global_facts"], batch_size=2)
    assert result["timings"]["shared_prefix_questions"] == 3  # the shots were computed once, then reused
    for example, direct in zip(result["examples"], _direct(llama, small_mmlu, "global_facts", 1, 3)):
        assert example["loglikelihoods"] == pytest.approx(direct, abs=1e-3)


def test_shots_are_dropped_when_they_do_not_fit(llama, small_mmlu):
    small = type(llama)(**{**llama.__dict__, "context_length": 420})
    result = run_mmlu(small, small_mmlu, shots=5, limit=2, subjects=["machine_learning"])
    assert all(e["shots"] < 5 and e["prompt_tokens"] <= 420 for e in result["examples"])


def test_seq2seq_model(tmp_path, small_mmlu):
    t5 = load_model(ModelSpec.parse(str(make_tiny_t5(tmp_path / "t5"))))
    result = run_mmlu(t5, small_mmlu, shots=1, limit=2, subjects=["global_facts"])
    assert result["n"] == 2 and 0.0 <= result["accuracy"] <= 1.0


def test_bad_inputs(llama, small_mmlu, tmp_path):
    with pytest.raises(EvaluationError, match="does not exist"):
        run_mmlu(llama, tmp_path / "none")
    with pytest.raises(EvaluationError, match="Unknown MMLU subject"):
        run_mmlu(llama, small_mmlu, subjects=["astrology"])
    (tmp_path / "x_test.csv").write_text("only,three,fields\n")
    with pytest.raises(EvaluationError, match="Line 1"):
        read_questions(tmp_path / "x_test.csv", "x")


def test_statistics_and_compare():
    assert wilson_interval(5, 10) == [0.2366, 0.7634]
    assert mcnemar_exact(0, 6) == pytest.approx(0.03125)
    assert mcnemar_exact(3, 3) == 1.0

    def result(correct):
        examples = [{"subject": "s", "index": i, "correct": c} for i, c in enumerate(correct)]
        acc = sum(correct) / len(correct)
        return {"accuracy": acc, "examples": examples, "subjects": {"s": {"accuracy": acc, "n": len(correct)}}}

    base = result([True] * 8 + [False] * 2)
    tuned = result([False] * 7 + [True] + [False] * 2)
    view = compare(base, tuned)
    assert view["overall"]["delta"] == pytest.approx(-0.7)
    assert view["paired"] == {
        "n": 10,
        "only_base_correct": 7,
        "only_tuned_correct": 0,
        "mcnemar_p": pytest.approx(2 / 2**7),
    }
    assert view["verdict"] == "forgetting" and view["subjects"]["s"]["delta"] == pytest.approx(-0.7)


@pytest.mark.slow
def test_builtin_model_uses_single_token_letters(shared_data):
    builtin = load_model(ModelSpec.parse("builtin"))
    assert all(len(ids) == 1 for ids in mmlu._choice_ids(builtin.tokenizer, False))  # " A" is one token
    result = run_mmlu(builtin, shared_data / "mmlu", shots=1, limit=3, subjects=["global_facts", "nutrition"])
    assert result["n"] == 6 and all(e["shots"] == 1 for e in result["examples"])
    assert result["timings"]["shared_prefix_questions"] == 6
    direct = _direct(builtin, shared_data / "mmlu", "global_facts", 1, 3)
    for example, expected in zip(result["examples"][:3], direct):
        assert example["loglikelihoods"] == pytest.approx(expected, abs=2e-3)
