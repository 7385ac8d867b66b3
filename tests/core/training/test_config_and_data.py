"""TrainConfig validation and JSON, completion-only labels, the padding collator."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
from tiny_models import make_tiny_dataset, make_tiny_t5

from ift_desktop.core.errors import DataError, TrainingError
from ift_desktop.core.models import ModelSpec, format_for_model, load_tokenizer
from ift_desktop.core.training import (
    IGNORE_INDEX,
    CompletionOnlyCollator,
    TrainConfig,
    encode_example,
    load_training_data,
    smaller_batch_config,
)

TINY_LLAMA_CHAT = True


def test_defaults_are_the_measured_recipe():
    config = TrainConfig()
    assert (config.method, config.lora_r, config.lora_alpha, config.lora_dropout) == ("lora", 16, 32, 0.0)
    assert config.learning_rate == 1e-3 and TrainConfig(method="full").learning_rate == 2e-5
    # one example per forward pass (no padding), 4 accumulated per step; max length None: from the dataset
    assert (config.batch_size, config.grad_accum, config.max_length) == (1, 4, None)
    assert 0 < config.warmup_ratio <= 0.1
    assert (config.max_steps, config.epochs, config.time_limit_minutes) == (None, 1.0, 10.0)  # 1 epoch or 10 min
    assert config.packing is False  # length-grouped batches (RESULTS.md: packing's mask costs the packed length²)


def test_every_field_has_help_text():
    for item in fields(TrainConfig):
        assert len(item.metadata.get("help", "")) > 20, item.name
    assert "LoRA" in TrainConfig.help("method")


@pytest.mark.parametrize(
    "changes, word",
    [
        ({"method": "qlora"}, "method"),
        ({"learning_rate": -1e-4}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"grad_accum": -2}, "grad_accum"),
        ({"max_steps": 0}, "max_steps"),
        ({"epochs": 0}, "epochs"),
        ({"max_length": 2}, "max_length"),
        ({"lora_r": 0}, "lora_r"),
        ({"lora_dropout": 0.9}, "lora_dropout"),
        ({"warmup_ratio": 2}, "warmup_ratio"),
        ({"lr_schedule": "sawtooth"}, "lr_schedule"),
        ({"precision": "int3"}, "precision"),
        ({"batch_size": 2.5}, "batch_size"),
    ],
)
def test_nonsense_settings_are_refused_with_the_setting_named(changes, word):
    from ift_desktop.core.training.setting_fields import setting_info

    with pytest.raises(TrainingError) as caught:
        TrainConfig(**changes)
    message = str(caught.value)
    assert setting_info(TrainConfig, word).label.lower() in message.lower()  # named as the user sees it
    assert "--" not in message and getattr(caught.value, "setting", word) == word  # no CLI flag; the key is kept


def test_an_empty_accumulation_makes_four_examples_a_step_and_is_recorded_as_the_count():
    assert [TrainConfig(batch_size=b).grad_accum for b in (1, 2, 3, 4, 8)] == [4, 2, 1, 1, 1]
    assert TrainConfig(batch_size=2, grad_accum=3).grad_accum == 3  # a set accumulation is kept
    recorded = TrainConfig(batch_size=2).to_dict()
    assert recorded["grad_accum"] == 2 and TrainConfig.from_dict(recorded).grad_accum == 2
    with pytest.raises(TrainingError, match="Batch size"):  # a bad batch size is named, not a division error
        TrainConfig(batch_size=0)


def test_json_round_trip_and_schema(tmp_path):
    config = TrainConfig(method="full", max_steps=30, probe_prompts=["Hi?"], lora_target_modules=["q_proj"])
    data = json.loads(config.to_json())
    assert data["schema_version"] == 1
    assert TrainConfig.from_dict(data) == config
    (tmp_path / "run.json").write_text(json.dumps({"config": data, "status": "finished"}))
    assert TrainConfig.from_json(tmp_path / "run.json") == config
    with pytest.raises(TrainingError, match="Unknown training setting"):
        TrainConfig.from_dict({**data, "learning_rat": 1})
    with pytest.raises(TrainingError, match="schema version"):
        TrainConfig.from_dict({**data, "schema_version": 99})


def test_smaller_batch_keeps_the_effective_batch():
    retry = smaller_batch_config(TrainConfig(batch_size=8, grad_accum=2))
    assert (retry.batch_size, retry.grad_accum, retry.effective_batch_size) == (4, 4, 16)
    assert smaller_batch_config(TrainConfig(batch_size=1)) is None


def test_memory_saving_retry_halves_the_batch_then_the_max_length():
    from ift_desktop.core.training.out_of_memory import describe_retry, memory_saving_retry, out_of_memory_error

    batch = out_of_memory_error(TrainConfig(batch_size=8, grad_accum=2, max_length=256))
    assert batch.retry_changes == {"batch_size": 4, "grad_accum": 4} and describe_retry(batch.retry_changes) == (
        "batch 4 × accumulation 4"
    )
    length = out_of_memory_error(TrainConfig(batch_size=1, max_length=256))
    assert length.retry_changes == {"max_length": 128} and length.retry_config.max_length == 128
    assert "max length 128" in length.one_line() and describe_retry(length.retry_changes) == "max length 128"
    nothing = out_of_memory_error(TrainConfig(batch_size=1, max_length=24))
    assert (
        nothing.retry_changes == {} and nothing.retry_config is None and "gradient checkpointing" in nothing.one_line()
    )
    assert memory_saving_retry(TrainConfig(batch_size=1, max_length=None)) is None


# ------------------------------------------------------------------------------------- labels
@pytest.fixture(scope="module")
def chat_tokenizer(llama):
    return load_tokenizer(ModelSpec.parse(str(llama)))


def test_prompt_tokens_are_masked_and_completion_kept(chat_tokenizer):
    example = {"prompt": "Summarize: Ann meets Bob.", "completion": "They meet."}
    features, truncated = encode_example(
        example, chat_tokenizer, is_seq2seq=False, max_length=512, use_chat_template=None
    )
    text = format_for_model(example["prompt"], example["completion"], chat_tokenizer)
    n_prompt = len(text.prompt_ids)
    assert not truncated
    assert features["input_ids"] == text.prompt_ids + text.completion_ids
    assert features["labels"][:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert features["labels"][n_prompt:] == text.completion_ids
    assert chat_tokenizer.decode(features["labels"][n_prompt:]) == "They meet.</s>"


def test_truncation_cuts_the_completion_and_skips_prompt_only_rows(chat_tokenizer):
    example = {"prompt": "p" * 20, "completion": "c" * 40}
    features, truncated = encode_example(
        example, chat_tokenizer, is_seq2seq=False, max_length=40, use_chat_template=False
    )
    assert truncated and len(features["input_ids"]) == 40
    assert features["labels"].count(IGNORE_INDEX) == 20
    features, truncated = encode_example(
        example, chat_tokenizer, is_seq2seq=False, max_length=16, use_chat_template=False
    )
    assert features is None and truncated


def test_collator_pads_with_ignored_labels():
    batch = CompletionOnlyCollator(pad_token_id=0)(
        [{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [5], "labels": [5]}]
    )
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [5, -100, -100]]


def test_training_data_from_a_dataset_folder(tmp_path, chat_tokenizer):
    folder = make_tiny_dataset(tmp_path / "data", n=6, val=3, test=2)
    data = load_training_data(
        folder, chat_tokenizer, is_seq2seq=False, max_length=512, use_chat_template=None, eval_max_examples=2
    )
    assert data.chat_template and len(data.train.features) == 6 and len(data.validation.features) == 2
    for item in data.train.features:
        first_label = next(i for i, label in enumerate(item["labels"]) if label != IGNORE_INDEX)
        assert chat_tokenizer.decode(item["input_ids"][:first_label]).endswith("<|assistant|>")
    (folder / "train.jsonl").unlink()
    with pytest.raises(DataError, match="train.jsonl is missing"):
        load_training_data(
            folder, chat_tokenizer, is_seq2seq=False, max_length=64, use_chat_template=None, eval_max_examples=None
        )


def test_seq2seq_examples_put_the_prompt_in_the_encoder(tmp_path):
    tokenizer = load_tokenizer(ModelSpec.parse(str(make_tiny_t5(tmp_path / "t5"))))
    features, _ = encode_example(
        {"prompt": "translate: hi", "completion": "salut"},
        tokenizer,
        is_seq2seq=True,
        max_length=64,
        use_chat_template=None,
    )
    assert tokenizer.decode(features["input_ids"], skip_special_tokens=True) == "translate: hi"
    assert tokenizer.decode(features["labels"]) == "salut</s>"
    assert IGNORE_INDEX not in features["labels"]
