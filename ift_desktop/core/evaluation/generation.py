"""Batched text generation for evaluation and the Playground.

``generate(loaded, prompts, settings, batch_size=...)`` turns instruction prompts into model answers:

- every prompt is formatted exactly as training formats it (``format_for_model(prompt, "", ...)``:
  the tokenizer's chat template for instruct models, the encoder input for seq2seq models), so the
  model sees at evaluation what it saw while learning;
- prompts are sorted by length and batched, causal models padded on the left (the new tokens then
  line up at the right edge), with the KV cache on; the original order is restored afterwards;
- decoding is greedy by default; sampling (temperature, top-p, top-k) is seeded and the settings
  are recorded with the results;
- generation stops at the end-of-turn / end-of-sequence token, and only the new text is returned;
- progress and cancellation go through :class:`~ift_desktop.core.progress.TaskState` (checked
  between batches and between decoding steps), and timings (tokens per second) are reported.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import EvaluationError
from ..progress import TaskState

#: Tokens that end an assistant turn in common chat templates, besides the tokenizer's eos.
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>")


@dataclass
class GenerationSettings:
    """How answers are decoded. Greedy by default, so two evaluations of one model agree."""

    max_new_tokens: int = 128
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 50
    repetition_penalty: float = 1.0
    seed: int = 42
    use_chat_template: bool | None = None

    def __post_init__(self):
        if int(self.max_new_tokens) < 1:
            raise EvaluationError(
                f"max_new_tokens is {self.max_new_tokens}; it must be at least 1 (try 64 for short answers)."
            )
        if self.temperature <= 0:
            raise EvaluationError(f"Temperature is {self.temperature}; it must be above 0 (1.0 = unchanged).")
        if not 0 < self.top_p <= 1:
            raise EvaluationError(f"top_p is {self.top_p}; it must be in (0, 1] (1.0 = no nucleus cut).")
        if self.top_k < 0:
            raise EvaluationError(f"top_k is {self.top_k}; it must be 0 (off) or more.")
        if self.repetition_penalty <= 0:
            raise EvaluationError(f"repetition_penalty is {self.repetition_penalty}; it must be above 0 (1.0 = off).")
        self.max_new_tokens = int(self.max_new_tokens)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["decoding"] = "sampling" if self.do_sample else "greedy"
        return data


@dataclass
class GenerationResult:
    """Answers in the order of the prompts, plus what it cost."""

    texts: list[str]
    new_tokens: list[int]  # generated tokens per answer (up to and including the stop token)
    prompt_tokens: list[int]  # tokens per formatted prompt, after any truncation
    truncated: list[bool]  # whether the prompt had to be cut to leave room for the answer
    stopped: list[bool]  # whether the answer ended with a stop token (else it hit max_new_tokens)
    seconds: float
    batch_size: int
    chat_template: bool
    settings: GenerationSettings = field(default_factory=GenerationSettings)

    @property
    def tokens_per_s(self) -> float:
        return sum(self.new_tokens) / self.seconds if self.seconds > 0 else 0.0

    def timings(self) -> dict:
        n = len(self.texts)
        return {
            "generate_s": round(self.seconds, 3),
            "examples": n,
            "generated_tokens": int(sum(self.new_tokens)),
            "prompt_tokens": int(sum(self.prompt_tokens)),
            "tokens_per_s": round(self.tokens_per_s, 2),
            "examples_per_s": round(n / self.seconds, 3) if self.seconds > 0 else 0.0,
            "batch_size": self.batch_size,
        }


def stop_token_ids(tokenizer, model=None) -> list[int]:
    """The ids that end an answer: eos, the chat template's end-of-turn, the model's own eos list."""
    ids: list[int] = []

    def add(value):
        if value is None:
            return
        for item in value if isinstance(value, (list, tuple, set)) else [value]:
            if isinstance(item, int) and item >= 0 and item not in ids:
                ids.append(item)

    add(getattr(tokenizer, "eos_token_id", None))
    config = getattr(model, "generation_config", None) if model is not None else None
    add(getattr(config, "eos_token_id", None))
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
    for token in END_OF_TURN_TOKENS:
        if token in vocab:
            add(vocab[token])
    return ids


def _pad_id(tokenizer, stops: list[int]) -> int:
    pad = getattr(tokenizer, "pad_token_id", None)
    if pad is None:
        pad = stops[0] if stops else 0
    return int(pad)


def _cancel_criteria(state: TaskState | None):
    """A stopping criterion that ends the current batch early when the user cancels."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class CancelCriteria(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            flag = bool(state is not None and state.is_cancelled())
            return torch.full((input_ids.shape[0],), flag, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([CancelCriteria()])


def _generation_config(settings: GenerationSettings, stops: list[int], pad_id: int):
    from transformers import GenerationConfig

    options: dict[str, Any] = dict(
        max_new_tokens=settings.max_new_tokens,
        do_sample=settings.do_sample,
        num_beams=1,
        use_cache=True,
        eos_token_id=stops or None,
        pad_token_id=pad_id,
        repetition_penalty=settings.repetition_penalty,
    )
    if settings.do_sample:
        options.update(temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k)
    else:  # explicit neutral values, so the model's own sampling defaults are not silently mixed in
        options.update(temperature=1.0, top_p=1.0, top_k=50)
    return GenerationConfig(**options)


def format_prompts(
    prompts: Sequence[str], tokenizer, *, is_seq2seq: bool, use_chat_template: bool | None
) -> tuple[list[list[int]], bool]:
    """Token ids of each prompt as training formats it, and whether a chat template was applied."""
    from ..models.formatting import format_for_model

    ids, used_template = [], False
    for prompt in prompts:
        text = format_for_model(str(prompt), "", tokenizer, is_seq2seq=is_seq2seq, use_chat_template=use_chat_template)
        ids.append(list(text.prompt_ids))
        used_template = used_template or bool(text.chat_template)
    return ids, used_template


def _fit(ids: list[int], room: int | None) -> tuple[list[int], bool]:
    """Keep the prompt within ``room`` tokens: the head (instruction) and tail (generation marker)."""
    if room is None or len(ids) <= room:
        return ids, False
    head = room // 3
    return ids[:head] + ids[len(ids) - (room - head) :], True


def _prompt_room(context: int | None, settings: GenerationSettings, is_seq2seq: bool) -> int | None:
    """How many prompt tokens fit beside the answer in the model's context (None: no known limit)."""
    if not context:
        return None
    room = context if is_seq2seq else context - settings.max_new_tokens
    if room < 8:
        raise EvaluationError(
            f"max_new_tokens {settings.max_new_tokens} leaves no room for the prompt in the model's context of "
            f"{context} tokens; lower max_new_tokens."
        )
    return room


def _batch_tensors(prompts: list[list[int]], pad_id: int, is_seq2seq: bool):
    """(input ids, attention mask) of one batch: right padding for an encoder, left padding for a decoder."""
    import torch

    width = max(len(ids) for ids in prompts)
    input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, ids in enumerate(prompts):
        if is_seq2seq:  # the encoder reads with a mask; right padding is its natural layout
            input_ids[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
        else:  # left padding: every prompt ends at the same column, new tokens follow it
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            mask[row, width - len(ids) :] = 1
    return input_ids, mask


def _generate_batch(model, prompts: list[list[int]], pad_id: int, is_seq2seq: bool, config, cancel, streamer):
    """The new token ids of one batch of prompts (padded, generated in one call)."""
    import torch

    input_ids, mask = _batch_tensors(prompts, pad_id, is_seq2seq)
    device = next(model.parameters()).device
    with torch.inference_mode():
        output = model.generate(
            input_ids=input_ids.to(device),
            attention_mask=mask.to(device),
            generation_config=config,
            stopping_criteria=cancel,
            **({"streamer": streamer} if streamer is not None else {}),
        )
    return output[:, 1:] if is_seq2seq else output[:, input_ids.shape[1] :]  # seq2seq starts with decoder_start


def _answer_length(tokens: list[int], stops: list[int], pad_id: int) -> tuple[int, bool]:
    """(tokens of the answer, whether it ended on a stop token): through the first stop, else without padding."""
    for position, token in enumerate(tokens):
        if token in stops:
            return position + 1, True
    count = len(tokens)
    while count and tokens[count - 1] == pad_id:
        count -= 1
    return count, False


def generate(
    loaded,
    prompts: Sequence[str],
    settings: GenerationSettings | None = None,
    *,
    batch_size: int = 8,
    state: TaskState | None = None,
    what: str = "Generating answers",
    streamer=None,
) -> GenerationResult:
    """Answer every prompt with ``loaded`` (a :class:`~ift_desktop.core.models.LoadedModel`).

    ``loaded`` needs ``model``, ``tokenizer``, ``is_seq2seq`` and ``context_length``. Progress is
    reported as "``what`` done/total" (a caller's stage narrows it with ``state.span``). Raises
    :class:`Cancelled` when asked. ``streamer`` (one prompt only) receives the tokens as they are made,
    e.g. a ``transformers.TextIteratorStreamer`` read by another thread.
    """
    import torch

    settings = settings or GenerationSettings()
    if streamer is not None and len(prompts) != 1:
        raise EvaluationError(f"Streaming answers works for one prompt at a time, not {len(prompts)}.")
    if batch_size < 1:
        raise EvaluationError(f"Batch size is {batch_size}; it must be at least 1.")
    model, tokenizer, is_seq2seq = loaded.model, loaded.tokenizer, bool(loaded.is_seq2seq)
    encoded, chat_template = format_prompts(
        prompts, tokenizer, is_seq2seq=is_seq2seq, use_chat_template=settings.use_chat_template
    )
    room = _prompt_room(getattr(loaded, "context_length", None), settings, is_seq2seq)
    fitted = [_fit(ids, room) for ids in encoded]
    encoded = [ids for ids, _ in fitted]
    truncated = [cut for _, cut in fitted]

    stops = stop_token_ids(tokenizer, model)
    pad_id = _pad_id(tokenizer, stops)
    config = _generation_config(settings, stops, pad_id)
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))  # longest first: memory trouble shows early
    texts: list[str] = [""] * len(encoded)
    new_tokens = [0] * len(encoded)
    stopped = [False] * len(encoded)
    cancel = _cancel_criteria(state)
    was_training = model.training
    model.eval()
    if settings.do_sample:
        torch.manual_seed(settings.seed)
    start = time.perf_counter()
    done = 0
    try:
        for first in range(0, len(order), batch_size):
            if state is not None:
                state.check_cancelled()
                state.report(done / max(1, len(order)), f"{what} {done}/{len(order)}")
            batch = order[first : first + batch_size]
            generated = _generate_batch(
                model, [encoded[i] for i in batch], pad_id, is_seq2seq, config, cancel, streamer
            )
            if state is not None:
                state.check_cancelled()
            for row, i in enumerate(batch):
                tokens = generated[row].tolist()
                new_tokens[i], stopped[i] = _answer_length(tokens, stops, pad_id)
                texts[i] = tokenizer.decode(tokens[: new_tokens[i]], skip_special_tokens=True).strip()
            done += len(batch)
            if state is not None:
                state.partial({"kind": "generation", "items": [{"index": i, "prediction": texts[i]} for i in batch]})
    finally:
        if was_training:
            model.train()
    seconds = time.perf_counter() - start
    if state is not None:
        state.report(1.0, f"{what} {len(order)}/{len(order)}")
    return GenerationResult(
        texts=texts,
        new_tokens=new_tokens,
        prompt_tokens=[len(ids) for ids in encoded],
        truncated=truncated,
        stopped=stopped,
        seconds=seconds,
        batch_size=batch_size,
        chat_template=chat_template,
        settings=settings,
    )


__all__ = ["GenerationSettings", "GenerationResult", "generate", "format_prompts", "stop_token_ids"]
