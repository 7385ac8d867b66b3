"""In-context learning: zero-, one- and few-shot prompts built from a dataset's own examples.

The Playground shows how far prompting alone gets before paying for fine-tuning, and how much of
the model's context window the shots eat. ``build_few_shot_prompt(examples, query, k)`` puts ``k``
solved examples (prompt and answer) before the query:

    <shot prompt>
    Answer: <shot completion>

    <shot prompt>
    Answer: <shot completion>

    <query prompt>
    Answer:

When a template already ends its prompt with a cue such as ``Summary:``, the answer follows the cue
directly and no ``Answer:`` line is added. Zero-shot is the query prompt unchanged, i.e. exactly what
the evaluation asks the base model. With a tokenizer the prompt is counted as the model will see it
(``format_for_model``: chat template included), so the token counter is honest.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..errors import EvaluationError

DEFAULT_ANSWER_PREFIX = "Answer:"
SHOT_SEPARATOR = "\n\n"


@dataclass
class FewShotPrompt:
    """A prompt with ``n_shots`` worked examples and what it costs in tokens."""

    text: str
    n_shots: int
    tokens_total: int | None  # the whole prompt as the model sees it (None without a tokenizer)
    tokens_per_shot: list[int]  # each shot block including its separator
    context_length: int | None
    fits: bool  # tokens_total + reserved answer tokens <= context_length
    tokens_query: int | None = None
    reserve_tokens: int = 0
    shots: list[dict] = field(default_factory=list)  # the examples used, in prompt order

    @property
    def context_share(self) -> float | None:
        """Share of the context window the prompt takes (None when unknown)."""
        if not self.context_length or self.tokens_total is None:
            return None
        return self.tokens_total / self.context_length

    @property
    def shot_tokens(self) -> int:
        return sum(self.tokens_per_shot)


def _prompt_of(item) -> str:
    if isinstance(item, dict):
        if not isinstance(item.get("prompt"), str):
            raise EvaluationError("An in-context example has no 'prompt' text; use rows of a prepared dataset.")
        return item["prompt"]
    return str(item)


def _answer_of(item: dict) -> str:
    if isinstance(item.get("completion"), str):
        return item["completion"].strip()
    refs = item.get("references")
    if isinstance(refs, list) and refs:
        return str(refs[0]).strip()
    raise EvaluationError("An in-context example has no 'completion'; use rows of a prepared dataset.")


def _has_cue(prompt: str) -> bool:
    return prompt.rstrip().endswith(":")


def format_shot(example: dict, answer_prefix: str = DEFAULT_ANSWER_PREFIX) -> str:
    """One worked example: its prompt, then its answer after the template's cue or ``Answer:``."""
    prompt, answer = _prompt_of(example).rstrip(), _answer_of(example)
    if _has_cue(prompt):
        return f"{prompt} {answer}"
    return f"{prompt}\n{answer_prefix} {answer}"


def format_query(query, answer_prefix: str = DEFAULT_ANSWER_PREFIX, *, with_shots: bool) -> str:
    prompt = _prompt_of(query)
    if not with_shots or _has_cue(prompt):
        return prompt if not with_shots else prompt.rstrip()
    return f"{prompt.rstrip()}\n{answer_prefix}"


def choose_shots(examples: list[dict], query, k: int, *, seed: int | None = None) -> list[dict]:
    """``k`` examples other than the query: the first ones, or a seeded random draw."""
    if k < 0:
        raise EvaluationError(f"The number of shots is {k}; use 0 (zero-shot) or more.")
    query_prompt = _prompt_of(query)
    pool = [e for e in examples if _prompt_of(e) != query_prompt]
    if k > len(pool):
        raise EvaluationError(
            f"{k} shots asked for, but only {len(pool)} examples are available besides the query; use fewer shots."
        )
    if seed is None:
        return pool[:k]
    return random.Random(seed).sample(pool, k)


def _count(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def build_few_shot_prompt(
    examples: list[dict],
    query,
    k: int,
    tokenizer=None,
    context_length: int | None = None,
    *,
    reserve_tokens: int = 0,
    seed: int | None = None,
    answer_prefix: str = DEFAULT_ANSWER_PREFIX,
    is_seq2seq: bool = False,
    use_chat_template: bool | None = None,
    drop_to_fit: bool = False,
) -> FewShotPrompt:
    """A prompt with ``k`` shots from ``examples`` before ``query`` (a row or a prompt text).

    ``reserve_tokens`` is room kept for the answer when judging ``fits``. With ``drop_to_fit`` the
    number of shots is lowered until the prompt fits (down to zero-shot).
    """
    shots = choose_shots(examples, query, k, seed=seed)
    while True:
        prompt = _assemble(
            shots, query, tokenizer, context_length, reserve_tokens, answer_prefix, is_seq2seq, use_chat_template
        )
        if prompt.fits or not drop_to_fit or not shots:
            return prompt
        shots = shots[:-1]


def _assemble(shots, query, tokenizer, context_length, reserve, answer_prefix, is_seq2seq, use_chat_template):
    blocks = [format_shot(s, answer_prefix) + SHOT_SEPARATOR for s in shots]
    query_text = format_query(query, answer_prefix, with_shots=bool(shots))
    text = "".join(blocks) + query_text
    total = per_shot = query_tokens = None
    if tokenizer is not None:
        from ..models.formatting import format_for_model

        total = len(
            format_for_model(text, "", tokenizer, is_seq2seq=is_seq2seq, use_chat_template=use_chat_template).prompt_ids
        )
        per_shot = [_count(tokenizer, block) for block in blocks]
        query_tokens = _count(tokenizer, query_text)
    fits = True
    if context_length and total is not None:
        fits = total + max(0, reserve) <= context_length
    return FewShotPrompt(
        text=text,
        n_shots=len(shots),
        tokens_total=total,
        tokens_per_shot=per_shot if per_shot is not None else [],
        context_length=context_length,
        fits=fits,
        tokens_query=query_tokens,
        reserve_tokens=max(0, reserve),
        shots=list(shots),
    )
