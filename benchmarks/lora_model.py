"""The benchmarks' model: the app's default LoRA (r 16 / alpha 32 on all linear layers) on a loaded model,
its base fp32 unless a ``dtype`` is given (the app stores LoRA's frozen base in bf16 where it computes in bf16)."""

from __future__ import annotations


def default_lora(model: str = "builtin", *, dropout: float = 0.0, layers: list[int] | None = None, dtype=None):
    """``(loaded, peft model)``: ``model`` (a ModelSpec text) loaded for training, adapters seeded the same
    way every time; ``layers`` puts them on those layer indices only."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model

    from ift_desktop.core.models import ModelSpec, load_model
    from ift_desktop.core.models.memory import default_lora_targets

    loaded = load_model(ModelSpec.parse(model), for_training=True, dtype=dtype or torch.float32)
    torch.manual_seed(0)
    lora = LoraConfig(
        r=16,
        lora_alpha=32,
        lora_dropout=dropout,
        target_modules=default_lora_targets(loaded.model),
        task_type=TaskType.CAUSAL_LM,
        layers_to_transform=layers,
    )
    return loaded, get_peft_model(loaded.model, lora)
