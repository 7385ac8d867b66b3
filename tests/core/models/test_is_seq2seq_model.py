"""Seq2seq detection lives in the core: the Data wizard's token statistics and the Train form's max length ask it."""

import json

import pytest
from tiny_models import make_tiny_llama, make_tiny_t5

from ift_desktop.core.errors import ModelError
from ift_desktop.core.models import ModelSpec, is_seq2seq_model


def test_causal_and_seq2seq_folders_are_told_apart(tmp_path):
    assert is_seq2seq_model(ModelSpec.parse(str(make_tiny_t5(tmp_path / "t5")))) is True
    assert is_seq2seq_model(ModelSpec.parse(str(make_tiny_llama(tmp_path / "llama")))) is False


def test_the_builtin_model_is_causal_without_reading_anything():
    assert is_seq2seq_model(ModelSpec.parse("builtin")) is False


def test_a_tokenizer_only_folder_counts_as_causal(tmp_path):
    folder = make_tiny_llama(tmp_path / "llama")
    (folder / "config.json").unlink()
    assert is_seq2seq_model(ModelSpec.parse(str(folder))) is False


def test_a_run_asks_its_base_model(tmp_path):
    base = make_tiny_t5(tmp_path / "t5")
    run = tmp_path / "run"
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text("{}", encoding="utf-8")
    (run / "run.json").write_text(
        json.dumps({"model": {"source": "local", "name_or_path": str(base)}}), encoding="utf-8"
    )
    assert is_seq2seq_model(ModelSpec.parse(str(run))) is True


def test_a_broken_configuration_is_a_model_error(tmp_path):
    folder = make_tiny_llama(tmp_path / "llama")
    (folder / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="config.json"):
        is_seq2seq_model(ModelSpec.parse(str(folder)))
