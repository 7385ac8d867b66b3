"""The causal-LM loss computed only where it is trained: the completion positions.

A plain forward pass applies the output head (SmolLM2: 576 → 49,152 words) to every position of
every sequence and keeps full-vocabulary fp32 logits and their gradient for the whole batch, while
the labels are ``-100`` on the prompt (80–90 % of the tokens in summarization). Here the decoder
runs as usual for its hidden states, and the head and the cross-entropy run only on the hidden
states whose next token is a completion token: the same loss (a sum over the same terms), without
the logits of the prompt ever existing.

Right-padded batches (the loop's collator pads on the right) run without their padding mask: under
the causal mask a real token never sees the padding after it, so its hidden state is the same, and
attention then takes the causal kernel (flash attention on the CPU: memory linear in the length)
instead of an explicit ``batch x heads x length²`` mask and score matrix. The padding's own outputs
are never used (their labels are -100).

The loss follows the Trainer's conventions: a sum divided by ``num_items_in_batch`` (the completion
tokens of the whole accumulated batch) when given, else the mean over this batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import IGNORE_INDEX


def _causal_lm(model):
    """The ``*ForCausalLM`` inside a (possibly peft-wrapped) model."""
    getter = getattr(model, "get_base_model", None)
    return getter() if callable(getter) else model


def supports_completion_head(model) -> bool:
    """True for causal LMs whose logits are exactly ``head(decoder(x))`` (no scaling or soft-capping)."""
    causal = _causal_lm(model)
    config = getattr(causal, "config", None)
    if config is None or getattr(config, "is_encoder_decoder", False):
        return False
    if getattr(config, "final_logit_softcapping", None) or getattr(config, "logit_scale", None) is not None:
        return False
    decoder = getattr(causal, "base_model", None)
    head = causal.get_output_embeddings() if hasattr(causal, "get_output_embeddings") else None
    return isinstance(decoder, torch.nn.Module) and decoder is not causal and isinstance(head, torch.nn.Module)


def is_right_padded(attention_mask: torch.Tensor | None) -> bool:
    """True when every row is ones then zeros (padding only at the end), or there is no mask."""
    if attention_mask is None:
        return True
    if attention_mask.dim() != 2:
        return False
    return bool((attention_mask[:, 1:] <= attention_mask[:, :-1]).all())


def completion_loss(model, inputs: dict, num_items_in_batch=None) -> torch.Tensor:
    """Cross-entropy of the completion tokens of a causal-LM batch, the head applied only there."""
    causal = _causal_lm(model)
    labels = inputs["labels"]
    keys = ["input_ids", "position_ids"]
    if not is_right_padded(inputs.get("attention_mask")):
        keys.append("attention_mask")
    decoder_inputs = {key: inputs[key] for key in keys if key in inputs}
    hidden = causal.base_model(**decoder_inputs, use_cache=False).last_hidden_state
    targets = labels[:, 1:]
    trained = targets != IGNORE_INDEX
    logits = causal.get_output_embeddings()(hidden[:, :-1][trained]).float()
    total = F.cross_entropy(logits, targets[trained], reduction="sum")
    if num_items_in_batch is not None:
        count = num_items_in_batch
        if torch.is_tensor(count):
            count = count.to(total.device)
        return total / count
    return total / trained.sum().clamp(min=1)
