"""Probe prompts: the user's pinned prompts, answered by the model at each evaluation.

Answers are greedy (deterministic), short, and generated from the prompt exactly as training
formats it (:func:`format_for_model`), so the page can show how the answers change along the
loss curve. The model is put in eval mode for the generation and returned to its previous mode.
"""

from __future__ import annotations

import torch

from ..models.formatting import format_for_model


@torch.no_grad()
def generate_answers(
    model,
    tokenizer,
    prompts: list[str],
    *,
    is_seq2seq: bool,
    use_chat_template: bool | None = None,
    max_new_tokens: int = 48,
    with_tokens: bool = False,
) -> list[dict]:
    """``[{"prompt", "answer"}]`` for each prompt, greedy, at most ``max_new_tokens`` tokens
    (``with_tokens``: also ``"tokens"``, the generated ids, for exact comparisons)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    answers = []
    try:
        for prompt in prompts:
            text = format_for_model(prompt, "", tokenizer, is_seq2seq=is_seq2seq, use_chat_template=use_chat_template)
            input_ids = torch.tensor([text.prompt_ids], dtype=torch.long, device=device)
            output = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=1,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
            new_tokens = output[0] if is_seq2seq else output[0, input_ids.shape[1] :]
            answer = tokenizer.decode(new_tokens, skip_special_tokens=True).strip()
            answers.append({"prompt": prompt, "answer": answer})
            if with_tokens:
                answers[-1]["tokens"] = [int(t) for t in new_tokens.tolist()]
    finally:
        model.train(was_training)
    return answers
