"""What full fine-tuning and LoRA cost: trainable parameters and a memory estimate.

The estimate adds the parts of the app's own training path (core/training/loop.py), with AdamW:

- runtime: on the CPU the peak is the process's resident memory, which starts with Python, torch,
  transformers and peft themselves (``CPU_RUNTIME_BYTES``, measured); a GPU's
  ``max_memory_allocated`` counts only tensors;
- weights: LoRA keeps the frozen base in the precision of the arithmetic (bf16 where the CPU or GPU
  computes it natively, else fp32) plus the adapters in fp32; full fine-tuning keeps fp32 master
  weights (bf16/fp16 run as autocast);
- gradients: one fp32 value per trainable parameter; optimizer: AdamW's two fp32 moments (8 bytes);
- activations: what the backward pass keeps per token and layer of the longest batch (``batch x
  max length`` positions, batches being grouped by length): the norms' inputs and outputs, q/k/v,
  the attention output, the MLP's four intermediate vectors (``7 h + 2 kv + 4 i`` values), plus a
  copy of each adapter's input when LoRA dropout is on; with gradient checkpointing only each
  layer's input plus one layer being recomputed; with LoRA on the last N layers only, only those
  layers keep anything (the backward pass stops below them);
- the output head: fp32 logits, their log-softmax and gradient, only at the completion positions
  (``completion_share`` of the positions; the loop never builds the prompt's logits).

Within ~15 % of the measured peak on the built-in model and a tiny model (benchmarks/memory_check.py),
good for "will it fit". Works from a loaded model or from a config alone (built on the ``meta``
device, so nothing is allocated).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

# Per-architecture LoRA targets: "all linear layers" in the attention and MLP blocks.
LLAMA_LIKE_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
T5_TARGETS = ["q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo"]


CPU_RUNTIME_BYTES = int(0.45 * 2**30)  # a training process's RSS before any model (benchmarks/memory_check.py)
DEFAULT_COMPLETION_SHARE = 0.25  # the share of positions that are completion tokens (the head runs only there)


@dataclass(frozen=True)
class MemoryEstimate:
    trainable_params: int
    total_params: int
    weights_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    activations_bytes: int
    total_bytes: int
    runtime_bytes: int = 0

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


def layer_count(config) -> int:
    """Transformer layers of one stack (the decoder's count is the encoder's for T5-style models)."""
    return int(getattr(config, "num_hidden_layers", None) or getattr(config, "num_layers", 0) or 0)


def last_layers(config, count: int | None) -> list[int] | None:
    """Indices of the last ``count`` layers (peft's ``layers_to_transform``); None for every layer."""
    layers = layer_count(config)
    if count is None or layers == 0 or count >= layers:
        return None
    return list(range(layers - count, layers))


def auto_lora_layers(config, device_kind: str) -> int | None:
    """The LoRA layers of a run that leaves them empty: the top half on a CPU, every layer elsewhere
    (None where the layer count is unknown: every layer).

    On a CPU the time is the limit: with adapters on the top half the backward pass stops halfway, so a
    10-minute default run trains 1.6 times the steps, keeps half the activations, and scored better
    (benchmarks/RESULTS.md); on a GPU every layer adapts."""
    layers = layer_count(config)
    if device_kind == "cpu" and layers >= 2:
        return layers // 2
    return layers or None  # every layer, as a count: a run resumed on another device keeps its adapters


def _layer_index(name: str) -> int | None:
    parts = name.split(".")
    for part, following in zip(parts, parts[1:]):
        if part in ("layers", "layer", "block", "h") and following.isdigit():
            return int(following)
    return None


def _lora_params(module: torch.nn.Module, targets: list[str], r: int, layers: list[int] | None = None) -> int:
    total = 0
    wanted = set(targets)
    for name, child in module.named_modules():
        if name.rsplit(".", 1)[-1] not in wanted or "lm_head" in name:
            continue
        if layers is not None and _layer_index(name) not in layers:
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
    device_kind: str = "cpu",
    lora_dropout: float = 0.0,
    completion_share: float = DEFAULT_COMPLETION_SHARE,
    lora_layers: int | None = None,
) -> MemoryEstimate:
    """Training memory for ``method`` ("full" or "lora") at a batch size and sequence length; LoRA on
    the last ``lora_layers`` layers only keeps activations for those."""
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
    on_cpu = device_kind == "cpu"
    low_bytes = torch.finfo(dtype).bits // 8  # the arithmetic's precision: LoRA's frozen base is stored in it
    # a CPU's autocast keeps fp32 activations in most places (norms, residuals); a GPU stores low-precision ones
    value_bytes = 4 if on_cpu else low_bytes
    if method == "full":  # trained with fp32 master weights; bf16/fp16 only as autocast
        trainable = base_params
        total = base_params
        weights = base_params * 4
    elif method == "lora":
        targets = target_modules or default_lora_targets(base_module)
        trainable = _lora_params(base_module, targets, lora_r, last_layers(config, lora_layers))
        total = base_params + trainable
        weights = base_params * low_bytes + trainable * 4
    else:
        raise ValueError(f"method must be 'full' or 'lora', not {method!r}")
    gradients = trainable * 4
    optimizer = trainable * 8
    activations = _activation_bytes(
        config,
        tokens=batch_size * max_length,
        value_bytes=value_bytes,
        lora_dropout=lora_dropout if method == "lora" else 0.0,
        gradient_checkpointing=gradient_checkpointing,
        completion_share=completion_share,
        trained_layers=lora_layers if method == "lora" else None,
    )
    runtime = CPU_RUNTIME_BYTES if on_cpu else 0
    total_bytes = int(runtime + weights + gradients + optimizer + activations)
    return MemoryEstimate(
        trainable_params=int(trainable),
        total_params=int(total),
        weights_bytes=int(weights),
        gradients_bytes=int(gradients),
        optimizer_bytes=int(optimizer),
        activations_bytes=int(activations),
        total_bytes=total_bytes,
        runtime_bytes=int(runtime),
    )


def _activation_bytes(
    config, *, tokens, value_bytes, lora_dropout, gradient_checkpointing, completion_share, trained_layers=None
) -> int:
    hidden = int(getattr(config, "hidden_size", None) or getattr(config, "d_model", 0) or 0)
    inter = int(getattr(config, "intermediate_size", None) or getattr(config, "d_ff", 0) or 4 * hidden)
    heads = int(getattr(config, "num_attention_heads", None) or getattr(config, "num_heads", 1) or 1)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    kv = hidden * kv_heads // heads
    stack = layer_count(config)
    layers = min(stack, trained_layers) if trained_layers else stack  # nothing is kept below the lowest adapter
    if getattr(config, "is_encoder_decoder", False):  # every decoder layer: the encoder's gradient crosses them all
        layers += int(getattr(config, "num_decoder_layers", None) or stack)
    vocab = int(getattr(config, "vocab_size", 0) or 0)
    per_token = 7 * hidden + 2 * kv + 4 * inter  # values kept per token and layer for the backward pass
    if lora_dropout > 0:  # each adapter's input is copied by its dropout, with a one-byte mask
        per_token += (6 * hidden + inter) * (1 + 1 / value_bytes)
    per_layer = tokens * per_token * value_bytes
    if gradient_checkpointing:
        layer_acts = layers * tokens * hidden * value_bytes + per_layer
    else:
        layer_acts = layers * per_layer
    head = tokens * completion_share * vocab * 4 * 3  # fp32 logits, log-softmax and gradient
    return int(layer_acts + head)
