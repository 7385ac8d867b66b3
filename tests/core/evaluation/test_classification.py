"""Classification by label-word log-likelihood: reading labelled files, the scores, the summary."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_models import make_tiny_t5

from ift_desktop.core.data.templates import render
from ift_desktop.core.errors import EvaluationError, UserError
from ift_desktop.core.evaluation.classification import classification_template, read_labelled, run_classification
from ift_desktop.core.models import ModelSpec, load_model
from ift_desktop.core.models.formatting import format_for_model

ROWS = [
    ("a warm , funny film", 1),
    ("dull and far too long", 0),
    ("the best meal of the year", 1),
    ("broken after two days", 0),
    ("quiet rooms and kind staff", 1),
    ("I want my money back", 0),
]


TINY_LLAMA_CHAT = True


@pytest.fixture(scope="module")
def llama(llama):
    """The module's tiny Llama (tests/conftest.py), loaded."""
    return load_model(ModelSpec.parse(str(llama)))


@pytest.fixture
def tsv(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_text("sentence\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in ROWS), encoding="utf-8")
    return path


def _hand_loglik(loaded, prompt: str, word: str, chat: bool) -> float:
    """log P(word | prompt) from one unpadded forward pass over the text as the app formats it."""
    text = format_for_model(prompt, word, loaded.tokenizer, use_chat_template=chat)
    word_ids = loaded.tokenizer(word, add_special_tokens=False)["input_ids"]
    assert text.completion_ids[: len(word_ids)] == word_ids  # the label word, then the end-of-turn marker
    ids = torch.tensor([text.prompt_ids + word_ids])
    with torch.no_grad():
        logp = torch.log_softmax(loaded.model(input_ids=ids).logits.float(), -1)[0]
    start = len(text.prompt_ids)
    return sum(float(logp[start - 1 + k, token]) for k, token in enumerate(word_ids))


@pytest.mark.parametrize("chat", [True, False])
def test_scores_match_a_hand_computation_of_the_label_loglikelihoods(llama, tsv, chat):
    rows = read_labelled(str(tsv), "sentence", "label", labels=["negative", "positive"])
    assert rows.labels == ["positive", "negative"] * 3 and rows.label_words == ["negative", "positive"]
    result = run_classification(
        llama, rows, batch_size=4, use_chat_template=chat
    )  # padding across rows of different lengths
    template = classification_template()
    assert result["template"] == template.name and result["chat_template"] is chat
    predicted = []
    for example, (text, gold) in zip(result["examples"], ROWS):
        prompt, _ = render(template, {"text": text, "label": "", "options": ["negative", "positive"]})
        hand = [_hand_loglik(llama, prompt, word, chat) for word in ("negative", "positive")]
        assert example["loglikelihoods"] == pytest.approx(hand, abs=1e-3)
        assert example["label"] == ["negative", "positive"][gold]
        predicted.append(["negative", "positive"][hand.index(max(hand))])
        assert example["predicted"] == predicted[-1]
    correct = sum(p == ["negative", "positive"][g] for p, (_, g) in zip(predicted, ROWS))
    assert (result["correct"], result["n"]) == (correct, 6) and result["accuracy"] == pytest.approx(correct / 6)
    low, high = result["ci95"]
    assert low <= correct / 6 <= high
    matrix = result["confusion"]["matrix"]
    for k, gold in enumerate(("negative", "positive")):
        assert matrix[k] == [
            sum(1 for p, (_, g) in zip(predicted, ROWS) if ["negative", "positive"][g] == gold and p == w)
            for w in ("negative", "positive")
        ]
        assert result["per_class"][gold]["n"] == 3
        assert result["per_class"][gold]["accuracy"] == pytest.approx(matrix[k][k] / 3)
    assert result["chance"] == 0.5


def test_shots_come_from_the_file_and_are_not_scored(llama, tsv):
    rows = read_labelled(str(tsv), "sentence", "label", labels=["negative", "positive"])
    result = run_classification(llama, rows, shots=2, seed=3)
    assert result["n"] == 4 and len(result["shot_rows"]) == 2
    assert {rows.labels[i] for i in result["shot_rows"]} == {"negative", "positive"}  # every class shown
    assert not {e["index"] for e in result["examples"]} & set(result["shot_rows"])
    assert result["example_prompt"].count("Answer: ") == 2


def test_word_labels_json_and_the_sample_reviews(llama, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"t": t, "y": ["bad", "good"][g]}) + "\n" for t, g in ROWS))
    rows = read_labelled(str(path), "t", "y")
    assert rows.label_words == ["bad", "good"]
    sample = read_labelled("sample:reviews", "review", "sentiment", limit=10)
    assert sample.label_words == ["negative", "positive"] and len(sample.texts) == 10
    result = run_classification(llama, sample)
    assert result["n"] == 10 and set(result["per_class"]) == {"negative", "positive"}


def test_seq2seq_model(tmp_path, tsv):
    t5 = load_model(ModelSpec.parse(str(make_tiny_t5(tmp_path / "t5"))))
    rows = read_labelled(str(tsv), "sentence", "label", labels=["negative", "positive"])
    result = run_classification(t5, rows)
    assert result["n"] == 6 and 0 <= result["accuracy"] <= 1


@pytest.mark.parametrize(
    "content, kwargs, message",
    [
        ("sentence\tlabel\n", {}, "no rows"),
        ("sentence\tlabel\nfine\t1\nokay\t1\n", {"labels": ["negative", "positive"]}, "one label only"),
        ("sentence\tlabel\nfine\t1\nbad\t0\n", {}, "are numbers"),
        ("sentence\tlabel\nfine\t1\nbad\t2\n", {"labels": ["negative", "positive"]}, "Label 2"),
        ("sentence\tlabel\nfine\tyes\nbad\tno\n", {"labels": ["yes"]}, "not among the label words"),
    ],
)
def test_bad_input(tmp_path, content, kwargs, message):
    path = tmp_path / "bad.tsv"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        read_labelled(str(path), "sentence", "label", **kwargs)


def test_missing_column_names_the_columns(tsv):
    with pytest.raises(EvaluationError, match="Column 'text' .* columns are: sentence, label"):
        read_labelled(str(tsv), "text", "label")


def test_a_hub_dataset_names_its_labels(tmp_path):
    """hf:NAME[:CONFIG] goes through the same source reader; a local save_to_disk copy stands in for the Hub."""
    import datasets

    features = datasets.Features(
        {"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["negative", "positive"])}
    )
    split = datasets.Dataset.from_dict(
        {"sentence": [t for t, _ in ROWS], "label": [g for _, g in ROWS]}, features=features
    )
    datasets.DatasetDict({"validation": split}).save_to_disk(str(tmp_path / "sst2"))
    rows = read_labelled(f"hf:{tmp_path / 'sst2'}", "sentence", "label", split="validation")
    assert rows.label_words == ["negative", "positive"] and rows.labels[:2] == ["positive", "negative"]
    with pytest.raises(UserError, match="no split 'test'"):
        read_labelled(f"hf:{tmp_path / 'sst2'}", "sentence", "label", split="test")
