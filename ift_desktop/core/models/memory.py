"""What full fine-tuning and LoRA cost: trainable parameters and a memory estimate.

The estimate adds the four usual parts, for training with AdamW:

- weights: LoRA keeps the frozen base at the load precision plus the adapters in fp32; full
  fine-tuning keeps fp32 master weights (bf16/fp16 run as autocast), as the training loop does;
- gradients: one per trainable parameter;
- optimizer: AdamW keeps two fp32 moments per trainable parameter (8 bytes each);
- activations: what the backward pass keeps per layer, roughly ``16 * hidden`` values per token
  (attention in/out, MLP intermediate, norms), plus the logits over the vocabulary in fp32; with
  gradient checkpointing only the layer inputs are kept and one layer is recomputed at a time.

It is an estimate (allocator overhead and framework buffers add ~10-20 %), good for "will it fit",
not a measurement. Works from a loaded model or from a config alone (built on the ``meta`` device,
so nothing is allocated).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

# Per-architecture LoRA targets: "all linear layers" in the attention and MLP blocks.
LLAMA_LIKE_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
T5_TARGETS = ["q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo"]


@dataclass(frozen=True)
class MemoryEstimate:
    trainable_params: int
    total_params: int
    weights_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    activations_bytes: int
    total_bytes: int

    @property
    def trainable_fraction(self) -> float:
        return self.trainable_params / self.total_params if self.total_params else 0.0

    def to_dict(self) -> dict:
        return asdict(self) | {"trainable_fraction": self.trainable_fraction}


def _as_module(model_or_config) -> torch.nn.Module:
    if isinstance(model_or_config, torch.nn.Module):
        return model_or_config
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    from .loading import is_seq2seq_config

    auto = AutoModelForSeq2SeqLM if is_seq2seq_config(model_or_config) else AutoModelForCausalLM
    with torch.device("meta"):
        return auto.from_config(model_or_config)


def default_lora_targets(model_or_config) -> list[str]:
    """All linear layers of the blocks, named the way this architecture names them."""
    module = _as_module(model_or_config)
    base = getattr(module, "get_base_model", None)
    module = base() if callable(base) else module
    names = {name.rsplit(".", 1)[-1] for name, child in module.named_modules() if isinstance(child, torch.nn.Linear)}
    names.discard("lm_head")
    for preset in (LLAMA_LIKE_TARGETS, T5_TARGETS):
        chosen = [n for n in preset if n in names]
        if chosen:
            return chosen
    # GPT-2 style Conv1D or other names: every linear layer except the output head.
    return sorted(names) or ["all-linear"]


def _lora_params(module: torch.nn.Module, targets: list[str], r: int) -> int:
    total = 0
    wanted = set(targets)
    for name, child in module.named_modules():
        if name.rsplit(".", 1)[-1] not in wanted or "lm_head" in name:
            continue
        weight = getattr(child, "weight", None)
        if isinstance(child, torch.nn.Linear) or (weight is not None and weight.dim() == 2):
            rows, cols = weight.shape
            total += r * (rows + cols)
    return total


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts of a (possibly LoRA-wrapped) model."""
    seen: set[int] = set()
    trainable = total = 0
    for parameter in model.parameters():
        if id(parameter) in seen:
            continue
        seen.add(id(parameter))
        total += parameter.numel()
        if parameter.requires_grad:
            trainable += parameter.numel()
    return trainable, total


def estimate_memory(
    model_or_config,
    *,
    method: str = "lora",
    batch_size: int = 4,
    max_length: int = 512,
    lora_r: int = 16,
    target_modules: list[str] | None = None,
    dtype: torch.dtype = torch.float32,
    gradient_checkpointing: bool = False,
) -> MemoryEstimate:
    """Training memory for ``method`` ("full" or "lora") at a batch size and sequence length."""
    module = _as_module(model_or_config)
    base = getattr(module, "get_base_model", None)
    base_module = base() if callable(base) else module
    config = base_module.config
    seen: set[int] = set()
    base_params = 0
    for name, parameter in base_module.named_parameters():
        if id(parameter) in seen or "lora_" in name:
            continue
        seen.add(id(parameter))
        base_params += parameter.numel()
    value_bytes = torch.finfo(dtype).bits // 8
    if method == "full":  # trained with fp32 master weights; bf16/fp16 only as autocast
        trainable = base_params
        total = base_params
        weights = base_params * 4
        gradients = trainable * 4
    elif method == "lora":
        targets = target_modules or default_lora_targets(base_module)
        trainable = _lora_params(base_module, targets, lora_r)
        total = base_params + trainable
        weights = base_params * value_bytes + trainable * 4
        gradients = trainable * 4
    else:
        raise ValueError(f"method must be 'full' or 'lora', not {method!r}")
    optimizer = trainable * 8

    hidden = int(getattr(config, "hidden_size", None) or getattr(config, "d_model", 0) or 0)
    layers = int(getattr(config, "num_hidden_layers", None) or getattr(config, "num_layers", 0) or 0)
    if getattr(config, "is_encoder_decoder", False):
        layers += int(getattr(config, "num_decoder_layers", None) or layers)
    vocab = int(getattr(config, "vocab_size", 0) or 0)
    tokens = batch_size * max_length
    per_layer = tokens * hidden * 16 * value_bytes
    if gradient_checkpointing:
        layer_acts = layers * tokens * hidden * value_bytes + per_layer
    else:
        layer_acts = layers * per_layer
    logits = tokens * vocab * 4 * 2  # fp32 logits and their gradient
    activations = int(layer_acts + logits)
    total_bytes = int(weights + gradients + optimizer + activations)
    return MemoryEstimate(
        trainable_params=int(trainable),
        total_params=int(total),
        weights_bytes=int(weights),
        gradients_bytes=int(gradients),
        optimizer_bytes=int(optimizer),
        activations_bytes=activations,
        total_bytes=total_bytes,
    )
