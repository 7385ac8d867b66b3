"""Out of memory during training: recognise it, and offer a run that needs less memory per step.

:func:`out_of_memory_error` turns the library's error into a :class:`TrainingOutOfMemory` that
carries the retry (``retry_changes``, ``retry_config``), so the Train page offers it from the type,
never from the wording, and a run in another process passes it on through its status file.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import TrainingOutOfMemory
from .config import TrainConfig, smaller_batch_config

SHORTEST_RETRY_LENGTH = 16  # a retry never offers a max length below this many tokens


def is_out_of_memory(exc: BaseException) -> bool:
    """True for torch's out-of-memory errors (CUDA's type; MPS and older builds say it in a RuntimeError)."""
    import torch

    kinds = tuple(k for k in (getattr(torch, "OutOfMemoryError", None), torch.cuda.OutOfMemoryError) if k is not None)
    if isinstance(exc, kinds):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def memory_saving_retry(config: TrainConfig) -> TrainConfig | None:
    """The run with less memory per step: half the batch and twice the accumulation (the same effective
    batch); at batch 1, half the max length (longer examples are cut). ``None`` when neither is left."""
    smaller = smaller_batch_config(config)
    if smaller is not None:
        return smaller
    if config.max_length is not None and config.max_length // 2 >= SHORTEST_RETRY_LENGTH:
        return replace(config, max_length=config.max_length // 2)
    return None


def changed_settings(config: TrainConfig, retry: TrainConfig) -> dict:
    """The settings ``retry`` changes, ``{name: new value}``."""
    before, after = config.to_dict(), retry.to_dict()
    return {name: value for name, value in after.items() if before.get(name) != value}


def describe_retry(changes: dict) -> str:
    """A retry in a few words: ``"batch 4 × accumulation 2"`` or ``"max length 256"``."""
    words = []
    batch = [f"batch {changes['batch_size']}"] if "batch_size" in changes else []
    batch += [f"accumulation {changes['grad_accum']}"] if "grad_accum" in changes else []
    if batch:
        words.append(" × ".join(batch))
    if "max_length" in changes:
        words.append(f"max length {changes['max_length']}")
    return ", ".join(words)


def out_of_memory_error(config: TrainConfig) -> TrainingOutOfMemory:
    """The error to raise after the device ran out of memory while training with ``config``."""
    retry = memory_saving_retry(config)
    changes = changed_settings(config, retry) if retry is not None else {}
    if "batch_size" in changes:
        hint = (
            f"Retry with batch size {retry.batch_size} and gradient accumulation {retry.grad_accum} "
            "(the same effective batch, half the memory per step)."
        )
    elif "max_length" in changes:
        hint = (
            f"Retry with max length {retry.max_length} (longer examples are cut), or turn on gradient "
            "checkpointing, or use LoRA instead of full fine-tuning."
        )
    else:
        hint = "Lower the max length, turn on gradient checkpointing, or use LoRA instead of full fine-tuning."
    return TrainingOutOfMemory(
        "The device ran out of memory during training; memory was freed.",
        hint=hint,
        retry_changes=changes,
        retry_config=retry,
    )
