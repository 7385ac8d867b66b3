"""Token statistics measured as the model sees the text (format_for_model), and truncation counts."""

from __future__ import annotations

import pytest
from tiny_models import TINY_CHAT_TEMPLATE
from transformers import ByT5Tokenizer

from ift_desktop.core.data.stats import token_stats
from ift_desktop.core.errors import Cancelled
from ift_desktop.core.progress import TaskState

EXAMPLES = [{"prompt": "p" * n, "completion": "c" * 9} for n in (10, 40, 60, 100)]


def test_causal_lengths_and_truncation():
    stats = token_stats(EXAMPLES, ByT5Tokenizer(), max_length=64)
    # bytes as tokens; the completion gets the eos token
    assert stats.prompt_lengths == [10, 40, 60, 100]
    assert stats.completion_lengths == [10, 10, 10, 10]
    assert stats.total_lengths == [20, 50, 70, 110]
    assert (stats.n_truncated, stats.n_completion_cut, stats.n_completion_lost) == (2, 2, 1)
    assert stats.share_truncated == 0.5
    assert stats.truncated_indices == [2, 3]
    summary = stats.summary()
    assert summary["total"]["max"] == 110 and summary["prompt"]["median"] == 50
    assert summary["suggested_max_length"] == 128
    wider = stats.at(128)
    assert wider.n_truncated == 0 and wider.prompt_lengths == stats.prompt_lengths


def test_chat_template_counts_its_tokens():
    tokenizer = ByT5Tokenizer()
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    plain = token_stats(EXAMPLES, tokenizer, max_length=512, use_chat_template=False)
    chat = token_stats(EXAMPLES, tokenizer, max_length=512)
    assert chat.chat_template and not plain.chat_template
    # "<|user|>pppppppppp</s><|assistant|>": one id per byte, one for the special "</s>"
    assert chat.prompt_lengths[0] == len("<|user|>" + "p" * 10 + "<|assistant|>") + 1
    assert all(c > p for c, p in zip(chat.prompt_lengths, plain.prompt_lengths))


def test_seq2seq_truncates_encoder_and_labels_separately():
    examples = [{"prompt": "p" * 30, "completion": "c" * 5}, {"prompt": "p" * 5, "completion": "c" * 30}]
    stats = token_stats(examples, ByT5Tokenizer(), max_length=20, is_seq2seq=True)
    assert stats.prompt_lengths == [31, 6] and stats.completion_lengths == [6, 31]
    assert (stats.n_truncated, stats.n_completion_cut) == (2, 1)


def test_cancel():
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        token_stats(EXAMPLES, ByT5Tokenizer(), max_length=64, state=state)
