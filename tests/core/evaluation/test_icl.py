"""In-context learning prompts: shots from the dataset, the token counter, fitting the context."""

from __future__ import annotations

import pytest
from tiny_models import _tokenizer, tiny_examples

from ift_desktop.core.errors import EvaluationError
from ift_desktop.core.evaluation.icl import build_few_shot_prompt, choose_shots
from ift_desktop.core.models import format_for_model

POOL = [
    {"prompt": "Classify the sentiment:\nGreat film!", "completion": "positive"},
    {"prompt": "Classify the sentiment:\nDull and long.", "completion": "negative"},
    {"prompt": "Classify the sentiment:\nI loved it.", "completion": "positive"},
]
QUERY = {"prompt": "Classify the sentiment:\nNot my thing.", "completion": "negative"}


def test_zero_shot_is_the_prompt_unchanged():
    prompt = build_few_shot_prompt(POOL, QUERY, 0)
    assert prompt.text == QUERY["prompt"] and prompt.n_shots == 0 and prompt.tokens_total is None and prompt.fits


def test_shots_come_first_with_their_answers():
    prompt = build_few_shot_prompt(POOL, QUERY, 2)
    assert prompt.text == (
        "Classify the sentiment:\nGreat film!\nAnswer: positive\n\n"
        "Classify the sentiment:\nDull and long.\nAnswer: negative\n\n"
        "Classify the sentiment:\nNot my thing.\nAnswer:"
    )
    assert prompt.n_shots == 2 and prompt.shots == POOL[:2]


def test_a_template_cue_is_used_instead_of_answer_lines():
    rows = tiny_examples(4)  # prompts end with "Summary:", completions start with a space
    prompt = build_few_shot_prompt(rows[:3], rows[3], 1)
    assert prompt.text == f"{rows[0]['prompt']} {rows[0]['completion'].strip()}\n\n{rows[3]['prompt']}"
    assert "Answer:" not in prompt.text


def test_the_query_is_never_its_own_shot_and_seeded_draws_repeat():
    assert QUERY["prompt"] not in [s["prompt"] for s in choose_shots(POOL + [QUERY], QUERY, 3)]
    pool = tiny_examples(30)
    first = choose_shots(pool, "query", 4, seed=3)
    assert first == choose_shots(pool, "query", 4, seed=3) and first != pool[:4]


def test_token_counter_matches_what_the_model_sees():
    tokenizer = _tokenizer(chat_template=True)
    prompt = build_few_shot_prompt(POOL, QUERY, 3, tokenizer=tokenizer, context_length=4096)
    assert prompt.tokens_total == len(format_for_model(prompt.text, "", tokenizer).prompt_ids)
    blocks = prompt.text.split("\n\n")[:3]
    assert prompt.tokens_per_shot == [len((block + "\n\n").encode("utf-8")) for block in blocks]  # one token a byte
    assert prompt.tokens_total > prompt.shot_tokens + prompt.tokens_query  # the chat template adds its markers
    assert prompt.fits and 0 < prompt.context_share < 1


def test_fits_and_drop_to_fit():
    tokenizer = _tokenizer()
    zero = build_few_shot_prompt(POOL, QUERY, 0, tokenizer=tokenizer)
    full = build_few_shot_prompt(POOL, QUERY, 3, tokenizer=tokenizer, context_length=zero.tokens_total + 80)
    assert not full.fits and full.n_shots == 3
    reserve = build_few_shot_prompt(
        POOL, QUERY, 1, tokenizer=tokenizer, context_length=zero.tokens_total + 80, reserve_tokens=30
    )
    assert not reserve.fits
    dropped = build_few_shot_prompt(
        POOL, QUERY, 3, tokenizer=tokenizer, context_length=zero.tokens_total + 80, drop_to_fit=True
    )
    assert dropped.fits and 0 < dropped.n_shots < 3
    assert dropped.tokens_total + 0 <= zero.tokens_total + 80


def test_bad_requests():
    with pytest.raises(EvaluationError, match="only 3 examples"):
        build_few_shot_prompt(POOL, QUERY, 4)
    with pytest.raises(EvaluationError):
        build_few_shot_prompt(POOL, QUERY, -1)
    with pytest.raises(EvaluationError, match="prompt"):
        build_few_shot_prompt([{"text": "x"}], QUERY, 1)
