"""Write a (merged) transformers model of the Llama family as one GGUF file with the ``gguf`` package.

Tensor names come from ``gguf``'s own map for the architecture (``get_tensor_name_map``), so they are
the names llama.cpp looks up. Three things differ from the transformers checkpoint:

- llama.cpp applies rotary positions to interleaved pairs of a head's dimensions where transformers
  rotates its two halves; for the ``llama`` architecture the rows of the q and k projections are
  therefore reordered head by head (pair ``(i, i + d/2)`` becomes rows ``2i, 2i+1``). transformers'
  GGUF reader undoes exactly this, and the round trip proves it: without it the answers change.
  Qwen2 is stored without the reordering (llama.cpp uses the half-split rotation there).
- Norm weights and biases stay float32; the matrices become float16, or Q8_0 (blocks of 32 int8
  values with one scale) where a row is a multiple of 32 long, as llama.cpp does.
- Tied embeddings are written once (no ``output.weight``); readers then reuse the embedding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ExportError
from ..progress import TaskState
from .gguf_vocab import GgufVocab
from .support import GgufSupport

QUANTS = ("f16", "q8_0")


@dataclass
class WrittenGguf:
    path: Path
    tensors: int
    quantized: int  # tensors stored as Q8_0


def rotate_for_llama_cpp(weight: np.ndarray, heads: int) -> np.ndarray:
    """Reorder a q/k projection's rows from transformers' half-split rope layout to llama.cpp's
    interleaved one (per head: rows ``[x0..x(d/2-1), y0..y(d/2-1)]`` become ``[x0, y0, x1, y1, …]``)."""
    rows = weight.shape[0]
    return weight.reshape(heads, 2, rows // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def _rope_theta(config) -> float:
    theta = getattr(config, "rope_theta", None)
    if theta is None:
        parameters = getattr(config, "rope_parameters", None) or {}
        theta = parameters.get("rope_theta") if isinstance(parameters, dict) else None
    return float(theta if theta is not None else 10000.0)


def _write_hyperparameters(writer, config, *, quant: str, name: str) -> None:
    import gguf

    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name)
    writer.add_context_length(int(config.max_position_embeddings))
    writer.add_embedding_length(int(config.hidden_size))
    writer.add_block_count(int(config.num_hidden_layers))
    writer.add_feed_forward_length(int(config.intermediate_size))
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(head_dim)
    if head_dim != config.hidden_size // heads:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_vocab_size(int(config.vocab_size))
    file_type = gguf.LlamaFileType.MOSTLY_F16 if quant == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0
    writer.add_file_type(int(file_type))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


def _convert(data: np.ndarray, quant: str):
    """``(array, raw_dtype)`` for one tensor in the asked quantization."""
    import gguf

    if data.ndim < 2:
        return data.astype(np.float32), None
    if quant == "q8_0" and data.shape[-1] % gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0][0] == 0:
        return gguf.quants.quantize(
            data.astype(np.float32), gguf.GGMLQuantizationType.Q8_0
        ), gguf.GGMLQuantizationType.Q8_0
    return data.astype(np.float16), None


def write_gguf(
    model,
    vocab: GgufVocab,
    support: GgufSupport,
    path: str | Path,
    *,
    quant: str,
    name: str,
    state: TaskState | None = None,
) -> WrittenGguf:
    """Write ``model`` (a transformers causal LM, adapters already merged) and ``vocab`` to ``path``."""
    import gguf

    if quant not in QUANTS:
        raise ExportError(f"Unknown GGUF quantization '{quant}'; choose one of: {', '.join(QUANTS)}.")
    state = state or TaskState()
    config = model.config
    arch = {value: key for key, value in gguf.MODEL_ARCH_NAMES.items()}[support.gguf_arch]
    names = gguf.get_tensor_name_map(arch, int(config.num_hidden_layers))
    heads = int(config.num_attention_heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    tied = bool(getattr(config, "tie_word_embeddings", False))

    writer = gguf.GGUFWriter(str(path), support.gguf_arch)
    _write_hyperparameters(writer, config, quant=quant, name=name)
    vocab.write(writer)

    weights = {k: v for k, v in model.state_dict().items() if not k.endswith("rotary_emb.inv_freq")}
    if tied:
        weights.pop("lm_head.weight", None)
    quantized = 0
    for index, (hf_name, tensor) in enumerate(weights.items()):
        state.check_cancelled()
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ExportError(
                f"The model holds a tensor '{hf_name}' that the {support.gguf_arch} GGUF layout has no place for; "
                "this model variant cannot be exported as GGUF.",
                hint="Export the merged model (safetensors) instead.",
            )
        data = tensor.detach().to("cpu").float().numpy()
        if support.rotates_qk and hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            data = rotate_for_llama_cpp(data, heads)
        elif support.rotates_qk and hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            data = rotate_for_llama_cpp(data, kv_heads)
        data, raw_dtype = _convert(data, quant)
        quantized += raw_dtype is not None
        writer.add_tensor(gguf_name, data, raw_dtype=raw_dtype)
        state.report(0.8 * (index + 1) / len(weights), f"Converting tensors ({quant})…")
    state.report(0.85, "Writing the GGUF file…")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    state.report(1.0, "GGUF file written")
    return WrittenGguf(Path(path), len(weights), quantized)
