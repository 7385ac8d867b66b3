"""How a prompt/completion pair looks to a model: the one place that decides it.

Training (the completion-only collator), token statistics in the data wizard, the playground and
evaluation all call :func:`format_for_model`, so the lengths the user sees, the tokens the loss is
computed on and the prompt the model answers at evaluation time are the same.

- Causal LM with a chat template (e.g. SmolLM2-Instruct): the prompt is a user turn rendered by the
  tokenizer's template with the generation prompt (``<|im_start|>assistant\\n``); the completion is
  the assistant's text plus the end-of-turn marker (``<|im_end|>``).
- Causal LM without one: the prompt as written (with the tokenizer's own start token, if it adds
  one); the completion is the text plus the eos token.
- Seq2seq (T5): ``prompt_ids`` are the encoder input (with eos), ``completion_ids`` the labels.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelError


@dataclass
class ModelText:
    prompt_text: str  # exactly what precedes the completion (the chat template applied if any)
    completion_text: str  # the completion plus the end-of-turn / eos marker
    prompt_ids: list[int]
    completion_ids: list[int]
    chat_template: bool  # whether a chat template was applied

    @property
    def input_ids(self) -> list[int]:
        """Prompt then completion (the causal LM's training sequence)."""
        return list(self.prompt_ids) + list(self.completion_ids)


def has_chat_template(tokenizer) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def _encode(tokenizer, text: str) -> list[int]:
    if not text:
        return []
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _special_prefix(tokenizer) -> list[int]:
    """The ids the tokenizer puts *before* a text on its own (e.g. Llama's ``<s>``), if any."""
    cached = getattr(tokenizer, "_ift_special_prefix", None)
    if cached is not None:
        return list(cached)
    probe = "a"
    with_special = list(tokenizer(probe, add_special_tokens=True)["input_ids"])
    plain = list(tokenizer(probe, add_special_tokens=False)["input_ids"])
    prefix: list[int] = []
    if plain and len(with_special) > len(plain):
        for start in range(len(with_special) - len(plain) + 1):
            if with_special[start : start + len(plain)] == plain:
                prefix = with_special[:start]
                break
    try:
        tokenizer._ift_special_prefix = tuple(prefix)
    except AttributeError:  # pragma: no cover - a tokenizer that refuses attributes
        pass
    return prefix


def _end_marker(tokenizer) -> tuple[str, int | None]:
    eos = getattr(tokenizer, "eos_token", None)
    return (eos or ""), getattr(tokenizer, "eos_token_id", None)


def _chat_parts(prompt: str, completion: str, tokenizer) -> tuple[str, str]:
    user = [{"role": "user", "content": prompt}]
    prompt_text = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    if completion is None:
        return prompt_text, ""
    full = tokenizer.apply_chat_template(
        user + [{"role": "assistant", "content": completion}], tokenize=False, add_generation_prompt=False
    )
    eos_text, _ = _end_marker(tokenizer)
    if full.startswith(prompt_text):
        completion_text = full[len(prompt_text) :]
        # Templates end a turn with "<eot>\n"; the marker is what the model must learn to emit.
        stripped = completion_text.rstrip()
        if eos_text and stripped.endswith(eos_text):
            completion_text = stripped
        elif eos_text and eos_text not in completion_text:
            completion_text = stripped + eos_text
    else:  # a template that rewrites earlier turns: fall back to text + eos
        completion_text = completion + eos_text
    return prompt_text, completion_text


def format_for_model(
    prompt: str,
    completion: str,
    tokenizer,
    *,
    is_seq2seq: bool = False,
    use_chat_template: bool | None = None,
) -> ModelText:
    """Render and tokenize one example exactly as the model will see it.

    ``use_chat_template=None`` applies the tokenizer's chat template when it has one (causal LMs
    only). Pass ``completion=""`` to get just the prompt for generation (``prompt_ids``).
    """
    prompt = "" if prompt is None else str(prompt)
    completion = "" if completion is None else str(completion)
    eos_text, eos_id = _end_marker(tokenizer)

    if is_seq2seq:
        if use_chat_template:
            raise ModelError("Chat templates apply to causal language models only, not to seq2seq models such as T5.")
        prompt_ids = list(tokenizer(prompt, add_special_tokens=True)["input_ids"])
        completion_ids = list(tokenizer(text_target=completion, add_special_tokens=True)["input_ids"])
        if eos_id is not None and (not completion_ids or completion_ids[-1] != eos_id):
            completion_ids.append(eos_id)
        return ModelText(prompt, completion + eos_text, prompt_ids, completion_ids, False)

    use_chat = has_chat_template(tokenizer) if use_chat_template is None else bool(use_chat_template)
    if use_chat and not has_chat_template(tokenizer):
        raise ModelError("This model's tokenizer has no chat template; turn 'use chat template' off for it.")

    if use_chat:
        prompt_text, completion_text = _chat_parts(prompt, completion, tokenizer)
        prompt_ids = _encode(tokenizer, prompt_text)
        completion_ids = _encode(tokenizer, completion_text) if completion else []
        return ModelText(prompt_text, completion_text if completion else "", prompt_ids, completion_ids, True)

    prompt_ids = _special_prefix(tokenizer) + _encode(tokenizer, prompt)
    if completion:
        completion_ids = _encode(tokenizer, completion)
        if eos_id is not None:
            completion_ids.append(eos_id)
        completion_text = completion + eos_text
    else:
        completion_ids, completion_text = [], ""
    return ModelText(prompt, completion_text, prompt_ids, completion_ids, False)
