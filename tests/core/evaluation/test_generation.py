"""Batched generation: left padding, order, stop tokens, sampling settings, cancel, truncation."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
import torch

from ift_desktop.core.errors import Cancelled, EvaluationError
from ift_desktop.core.evaluation.generation import GenerationSettings, format_prompts, generate, stop_token_ids
from ift_desktop.core.models import ModelSpec, format_for_model, load_model
from ift_desktop.core.progress import TaskState

PROMPTS = [
    "Summarize:\nAnn: lunch?\nBob: yes.",
    "Hi",
    "A somewhat longer prompt that needs more padding than the others in its batch.",
    "Two words",
    "Summarize:\nCho: tennis at 5?",
]


TINY_LLAMA_CHAT = True


@pytest.fixture(scope="module")
def llama(llama):
    """The module's tiny Llama (tests/conftest.py), loaded."""
    return load_model(ModelSpec.parse(str(llama)))


@pytest.fixture(scope="module")
def t5(t5):
    """The module's tiny T5 (tests/conftest.py), loaded."""
    return load_model(ModelSpec.parse(str(t5)))


def test_batched_greedy_equals_one_by_one_and_keeps_order(llama):
    settings = GenerationSettings(max_new_tokens=12)
    batched = generate(llama, PROMPTS, settings, batch_size=3)
    singles = [generate(llama, [p], settings, batch_size=1).texts[0] for p in PROMPTS]
    assert batched.texts == singles
    assert len(set(batched.texts)) > 1  # the prompts really lead to different answers
    assert all(0 < n <= 12 for n in batched.new_tokens)
    assert batched.chat_template is True


def test_prompts_are_formatted_as_in_training(llama):
    ids, used = format_prompts(PROMPTS[:2], llama.tokenizer, is_seq2seq=False, use_chat_template=None)
    assert used is True
    assert ids[0] == format_for_model(PROMPTS[0], "", llama.tokenizer).prompt_ids
    result = generate(llama, PROMPTS[:2], GenerationSettings(max_new_tokens=3))
    assert result.prompt_tokens == [len(x) for x in ids]
    plain = generate(llama, PROMPTS[:2], GenerationSettings(max_new_tokens=3, use_chat_template=False))
    assert plain.chat_template is False and plain.prompt_tokens[0] < result.prompt_tokens[0]


class ScriptedCausalLM(torch.nn.Module):
    """Answers every row with a fixed token script; records the padded inputs it was given."""

    def __init__(self, script):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.script = script
        self.calls = []
        self.generation_config = SimpleNamespace(eos_token_id=None)

    def generate(self, input_ids, attention_mask, generation_config, stopping_criteria):
        self.calls.append((input_ids.clone(), attention_mask.clone(), generation_config))
        rows = [torch.tensor(self.script(row.tolist())) for row in input_ids]
        width = max(len(r) for r in rows)
        pad = generation_config.pad_token_id
        new = torch.full((len(rows), width), pad, dtype=torch.long)
        for i, r in enumerate(rows):
            new[i, : len(r)] = r
        return torch.cat([input_ids, new], dim=1)


def test_stops_at_end_of_turn_strips_prompt_and_left_pads(llama):
    tokenizer = llama.tokenizer
    eos = tokenizer.eos_token_id
    hello = tokenizer("hello", add_special_tokens=False)["input_ids"]
    after = tokenizer(" ignored", add_special_tokens=False)["input_ids"]
    # rows answer "hello", end the turn, then keep going (what must be cut off)
    model = ScriptedCausalLM(lambda row: hello + [eos] + after)
    fake = SimpleNamespace(model=model, tokenizer=tokenizer, is_seq2seq=False, context_length=1024)
    result = generate(fake, ["short", "a much longer prompt"], GenerationSettings(max_new_tokens=20), batch_size=2)
    assert result.texts == ["hello", "hello"]
    assert result.new_tokens == [len(hello) + 1] * 2 and result.stopped == [True, True]
    input_ids, mask, config = model.calls[0]
    assert mask[0].tolist()[-1] == 1 and mask.tolist() != mask.flip(1).tolist()
    short_row = mask.sum(1).argmin()
    assert mask[short_row, 0] == 0  # padding on the left
    assert eos in stop_token_ids(tokenizer) and config.do_sample is False and config.use_cache is True


def test_sorts_by_length_for_batching_and_restores_order(llama):
    tokenizer = llama.tokenizer
    model = ScriptedCausalLM(
        lambda row: tokenizer(str(sum(1 for t in row if t != 0)), add_special_tokens=False)["input_ids"]
    )
    fake = SimpleNamespace(model=model, tokenizer=tokenizer, is_seq2seq=False, context_length=1024)
    prompts = ["x" * n for n in (3, 40, 7, 25)]
    result = generate(fake, prompts, GenerationSettings(max_new_tokens=4), batch_size=2)
    first_batch_lengths = model.calls[0][1].sum(1).tolist()
    assert min(first_batch_lengths) > max(model.calls[1][1].sum(1).tolist())  # longest prompts together first
    lengths = [int(t) for t in result.texts]
    assert lengths == result.prompt_tokens  # each answer back at its own prompt
    assert result.stopped == [False] * 4


def test_sampling_is_seeded_and_recorded(llama):
    hot = GenerationSettings(max_new_tokens=10, do_sample=True, temperature=1.5, top_k=0, seed=7)
    first = generate(llama, PROMPTS[:3], hot)
    again = generate(llama, PROMPTS[:3], hot)
    other = generate(
        llama, PROMPTS[:3], GenerationSettings(max_new_tokens=10, do_sample=True, temperature=1.5, top_k=0, seed=8)
    )
    assert first.texts == again.texts
    assert first.texts != other.texts
    recorded = first.settings.to_dict()
    assert recorded["decoding"] == "sampling" and recorded["seed"] == 7 and recorded["temperature"] == 1.5
    assert GenerationSettings().to_dict()["decoding"] == "greedy"


@pytest.mark.parametrize(
    "bad", [dict(max_new_tokens=0), dict(temperature=0), dict(top_p=1.5), dict(top_k=-1), dict(repetition_penalty=0)]
)
def test_bad_settings_are_refused(bad):
    with pytest.raises(EvaluationError):
        GenerationSettings(**bad)


def test_cancel_between_batches(llama):
    event = threading.Event()
    seen = []

    def on_partial(obj):
        seen.append(obj)
        event.set()  # the user presses Cancel after the first batch

    state = TaskState(cancel_event=event, on_partial=on_partial)
    with pytest.raises(Cancelled):
        generate(llama, PROMPTS, GenerationSettings(max_new_tokens=4), batch_size=2, state=state)
    assert len(seen) == 1 and len(seen[0]["items"]) == 2


def test_progress_is_reported_within_the_span(llama):
    fractions = []
    state = TaskState(on_progress=lambda f, m: fractions.append(f))
    generate(llama, PROMPTS, GenerationSettings(max_new_tokens=2), batch_size=2, state=state.span(0.2, 0.6))
    assert fractions[0] == pytest.approx(0.2) and fractions[-1] == pytest.approx(0.6)
    assert fractions == sorted(fractions)


def test_long_prompt_is_cut_to_leave_room_for_the_answer(llama):
    long_prompt = "Summarize: " + "word " * 400  # 2000+ bytes for a 1024-position model
    result = generate(llama, [long_prompt, "Hi"], GenerationSettings(max_new_tokens=8))
    assert result.truncated == [True, False]
    assert result.prompt_tokens[0] == llama.context_length - 8


def test_seq2seq_generation(t5):
    prompts = PROMPTS[:3]
    result = generate(t5, prompts, GenerationSettings(max_new_tokens=6), batch_size=2)
    singles = [generate(t5, [p], GenerationSettings(max_new_tokens=6)).texts[0] for p in prompts]
    assert result.texts == singles
    assert result.chat_template is False and all(n <= 6 for n in result.new_tokens)
    assert result.timings()["examples"] == len(prompts)
