"""Model FLOPs of a training step (for MFU: model FLOPs per second / the measured matmul ceiling).

The usual accounting (PaLM appendix B, Megatron): a matrix product of an ``n x k`` input with a
``k x m`` weight is ``2 n k m`` FLOPs forward, the same again for the input's gradient and again for
the weight's gradient (only when the weight is trained). Attention adds ``4 T d`` per token and
layer forward (scores and weighted sum; causal attention counted in full, as the kernels compute it)
and twice that backward. Norms, activations and the optimizer are not counted (they are not model FLOPs).
"""

from __future__ import annotations


def linear_shapes(config) -> list[tuple[int, int]]:
    """``(in, out)`` of the linear layers of one Llama-like decoder block."""
    hidden = config.hidden_size
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    kv = getattr(config, "num_key_value_heads", None) or heads
    inter = config.intermediate_size
    return [
        (hidden, heads * head_dim),
        (hidden, kv * head_dim),
        (hidden, kv * head_dim),
        (heads * head_dim, hidden),
        (hidden, inter),
        (hidden, inter),
        (inter, hidden),
    ]


def step_flops(
    config,
    *,
    tokens: int,
    sum_sq_lengths: int,
    head_positions: int,
    method: str,
    lora_r: int = 16,
    trained_layers: int | None = None,
) -> float:
    """FLOPs of forward + backward for a batch.

    ``tokens``: positions run through the decoder (non-padding for a padding-free path, all
    positions for a padded one); ``sum_sq_lengths``: sum over sequences of length² (attention);
    ``head_positions``: positions where the output head runs; ``method``: "full" or "lora" (LoRA
    adapters on every linear layer of the blocks, base frozen); ``trained_layers``: LoRA on the last
    that many layers only (the backward pass stops below the lowest of them)."""
    layers = config.num_hidden_layers
    trained = layers if method == "full" or trained_layers is None else min(trained_layers, layers)
    hidden = config.hidden_size
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    vocab = config.vocab_size
    shapes = linear_shapes(config)
    block = sum(i * o for i, o in shapes)
    lora = sum(lora_r * (i + o) for i, o in shapes)
    passes = 3 if method == "full" else 2  # forward, input gradient, (weight gradient)
    backward = trained * (block * (passes - 1) + (lora * 3 if method == "lora" else 0))
    linear = 2 * tokens * (layers * block + backward)
    attention = 4 * sum_sq_lengths * heads * head_dim * (layers + 2 * trained)  # forward, and twice that backward
    head = 2 * head_positions * hidden * vocab * (3 if method == "full" else 2)
    return float(linear + attention + head)
