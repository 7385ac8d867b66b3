"""Models: where they come from (built-in, Hub, local folder, run), how they load, how a prompt
looks to them, which device and precision they use, and what training them costs in memory."""

from . import spare_tokenizers
from .builtin import BUILTIN_TITLE, builtin_gguf_path, ensure_builtin_converted, is_builtin_converted
from .device import DeviceInfo, choose_device, choose_dtype, describe_device, free_accelerator_memory
from .formatting import ModelText, format_for_model, has_chat_template
from .loading import (
    LoadedModel,
    check_model_source,
    context_length_of,
    is_seq2seq_config,
    is_seq2seq_model,
    load_model,
    load_model_config,
    load_tokenizer,
    resolve_model_folder,
    run_parts,
)
from .memory import MemoryEstimate, count_parameters, default_lora_targets, estimate_memory
from .spec import ModelSpec

__all__ = [
    "BUILTIN_TITLE",
    "DeviceInfo",
    "LoadedModel",
    "MemoryEstimate",
    "ModelSpec",
    "ModelText",
    "builtin_gguf_path",
    "check_model_source",
    "choose_device",
    "choose_dtype",
    "context_length_of",
    "count_parameters",
    "default_lora_targets",
    "describe_device",
    "ensure_builtin_converted",
    "estimate_memory",
    "format_for_model",
    "free_accelerator_memory",
    "has_chat_template",
    "is_builtin_converted",
    "is_seq2seq_config",
    "is_seq2seq_model",
    "load_model",
    "load_model_config",
    "load_tokenizer",
    "resolve_model_folder",
    "run_parts",
    "spare_tokenizers",
]
