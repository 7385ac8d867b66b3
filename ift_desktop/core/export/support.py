"""Which runs can become a GGUF file, decided before any work starts.

GGUF describes a model by an architecture name that llama.cpp implements. This module maps the
transformers ``model_type`` of a run's model onto the ones written here — the Llama family:
Llama and SmolLM (``llama``), Mistral (written as ``llama``, as llama.cpp does) and Qwen2 (its own
name, with the q/k/v biases) — and refuses everything else (T5, other decoders, Llama variants
with extra biases or scaled rotary positions) with one line that says what to do instead.

The check reads ``run.json`` and the model's ``config.json`` only; it never loads weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ExportError, UserError

# transformers model_type -> (GGUF architecture name, whether llama.cpp stores q/k rotated for its rope)
FAMILIES = {
    "llama": ("llama", True),
    "mistral": ("llama", True),
    "qwen2": ("qwen2", False),
}
FAMILY_NAMES = "Llama, SmolLM, Mistral and Qwen2"
BUILTIN_MODEL_TYPE = "llama"  # SmolLM2-135M-Instruct


@dataclass(frozen=True)
class GgufSupport:
    model_type: str
    gguf_arch: str  # the name in general.architecture
    rotates_qk: bool  # q/k rows are permuted into llama.cpp's rope layout


def support_for_config(config: dict, *, where: str) -> GgufSupport:
    """The GGUF description of a model with this ``config.json`` content, or an ExportError."""
    model_type = str(config.get("model_type") or "?")
    if config.get("is_encoder_decoder") or model_type in ("t5", "mt5", "umt5", "bart", "mbart", "pegasus"):
        raise ExportError(
            f"{where} is a sequence-to-sequence model ({model_type}); GGUF export covers decoder-only models of "
            f"the {FAMILY_NAMES} family.",
            hint="Export the merged model (safetensors) instead.",
        )
    if model_type not in FAMILIES:
        raise ExportError(
            f"{where} is a '{model_type}' model; GGUF export covers the {FAMILY_NAMES} family only.",
            hint="Export the merged model (safetensors) instead and convert it with llama.cpp's convert_hf_to_gguf.py.",
        )
    extras = [name for name in ("attention_bias", "mlp_bias") if model_type != "qwen2" and config.get(name)]
    rope = config.get("rope_scaling") or {}
    rope_type = rope.get("rope_type") or rope.get("type") if isinstance(rope, dict) else None
    if not rope_type:
        parameters = config.get("rope_parameters") or {}
        rope_type = parameters.get("rope_type") if isinstance(parameters, dict) else None
    if rope_type and rope_type != "default":
        extras.append(f"rope scaling '{rope_type}'")
    if extras:
        raise ExportError(
            f"{where} uses {', '.join(extras)}, which this GGUF writer does not describe.",
            hint="Export the merged model (safetensors) instead.",
        )
    gguf_arch, rotates = FAMILIES[model_type]
    return GgufSupport(model_type=model_type, gguf_arch=gguf_arch, rotates_qk=rotates)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _model_config(run_dir: Path, *, allow_download: bool) -> dict | None:
    """The model's config.json as a dict; None when it is not known without a download."""
    from ..models.loading import run_parts

    base, _adapter, full = run_parts(run_dir)
    if full is not None:
        return _read_json(full / "config.json")
    if base.source == "builtin":
        return {"model_type": BUILTIN_MODEL_TYPE}
    if base.source == "local":
        return _read_json(Path(base.name_or_path) / "config.json")
    if not allow_download:
        return None
    from ..models.loading import load_model_config

    return load_model_config(base).to_dict()


def check_gguf_support(run_dir: str | Path, *, allow_download: bool = True) -> GgufSupport | None:
    """Refuse a run whose model cannot be written as GGUF (ExportError), before loading anything.

    Returns None only when ``allow_download`` is False and the model's config would need one (a Hub
    model not yet in the local cache); the export itself checks again with the download allowed.
    """
    run_dir = Path(run_dir)
    try:
        from ..models.spec import read_run_record

        record = read_run_record(run_dir)
        if record.get("is_seq2seq"):
            model = record.get("model_name") or "its model"
            raise ExportError(
                f"Run {run_dir.name} fine-tuned {model}, a sequence-to-sequence model; GGUF export covers "
                f"decoder-only models of the {FAMILY_NAMES} family.",
                hint="Export the merged model (safetensors) instead.",
            )
        config = _model_config(run_dir, allow_download=allow_download)
    except ExportError:
        raise
    except UserError as exc:
        raise ExportError(exc.one_line()) from None
    if config is None:
        return None
    return support_for_config(config, where=f"The model of run {run_dir.name}")
