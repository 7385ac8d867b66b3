"""Load a tokenizer or a model from a :class:`ModelSpec`: built-in, Hub id, local folder or run.

- ``builtin``: the cached safetensors conversion of SmolLM2-135M-Instruct (converted on first use).
- ``hub``: downloaded with ``huggingface_hub.snapshot_download`` (progress into the TaskState,
  safetensors preferred over pickled weights), then loaded from the local snapshot.
- ``local``: a folder in Hugging Face layout (``config.json`` + weights + tokenizer files).
- ``run``: a training run folder; the base model from ``run.json`` plus its LoRA ``adapter/``,
  or its fully fine-tuned ``model/``.

Causal LMs load with ``AutoModelForCausalLM``; encoder-decoder models (T5, FLAN-T5) with
``AutoModelForSeq2SeqLM``. Every failure the user can cause becomes a :class:`ModelError`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import Cancelled, ModelError
from ..hub_errors import hub_failure
from ..progress import TaskState
from . import spare_tokenizers
from .builtin import ensure_builtin_converted, ensure_builtin_tokenizer
from .consent import check_remote_code, remote_code_allowed, with_consent
from .device import choose_device, choose_dtype
from .pickles import is_refused_pickle, refused_pickle_message
from .spec import ModelSpec, read_run_record

log = logging.getLogger(__name__)
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.gguf")
_HUB_BASE_FILES = ["*.json", "*.model", "*.txt", "*.tiktoken", "*.py", "*.jinja"]


@dataclass
class LoadedModel:
    model: Any  # a transformers PreTrainedModel (or a peft PeftModel for a LoRA run)
    tokenizer: Any
    is_seq2seq: bool
    spec: ModelSpec
    context_length: int
    device: torch.device
    dtype: torch.dtype


# ------------------------------------------------------------------------------------- folders
def _snapshot_download(*args, **kwargs):  # indirection so tests can stand in for the Hub
    from huggingface_hub import snapshot_download

    return snapshot_download(*args, **kwargs)


def _hub_progress_class(state: TaskState | None, repo: str):
    from tqdm.auto import tqdm

    class _Reporting(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self._done = 0

        def update(self, n=1):
            super().update(n)
            self._done += n or 0
            if state is not None:
                state.check_cancelled()
                fraction = (self._done / self.total) if self.total else None
                state.report(fraction, f"Downloading {repo}")

    return _Reporting


def _download_hub(spec: ModelSpec, state: TaskState | None) -> Path:
    repo, revision = spec.name_or_path, spec.revision
    try:
        kwargs = dict(repo_id=repo, revision=revision, tqdm_class=_hub_progress_class(state, repo))
        folder = Path(_snapshot_download(allow_patterns=_HUB_BASE_FILES + ["*.safetensors"], **kwargs))
        if not any(folder.glob("*.safetensors")):  # an older repository with pickled weights only
            folder = Path(_snapshot_download(allow_patterns=_HUB_BASE_FILES + ["*.bin"], **kwargs))
    except Cancelled:
        raise
    except Exception as exc:
        raise ModelError(
            f"Could not get '{repo}' from the Hugging Face Hub: {hub_failure(exc)}.",
            hint="Check the model id and your network connection, or pick a local folder.",
        ) from None
    return folder


def _check_model_folder(folder: Path, *, need_weights: bool) -> None:
    if not folder.is_dir():
        raise ModelError(f"Model folder {folder} does not exist; choose a folder in Hugging Face layout.")
    if not (folder / "config.json").is_file():
        what = "is empty" if not any(folder.iterdir()) else "has no config.json"
        raise ModelError(
            f"Model folder {folder} {what}; choose a folder in Hugging Face layout (config.json, weights, tokenizer files)."
        )
    try:
        json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder / 'config.json'} is not valid JSON ({exc}); the model folder is damaged.") from None
    if need_weights and not any(any(folder.glob(p)) for p in WEIGHT_PATTERNS):
        raise ModelError(
            f"Model folder {folder} has no weights (*.safetensors or *.bin); the download may be incomplete."
        )


def resolve_model_folder(spec: ModelSpec, state: TaskState | None = None) -> Path:
    """A local folder holding the model (converting or downloading first where needed)."""
    if spec.source == "builtin":
        return ensure_builtin_converted(state)
    if spec.source == "hub":
        return _download_hub(spec, state)
    if spec.source == "local":
        return Path(spec.name_or_path)
    raise ModelError(f"'{spec.name_or_path}' is a run; its base model is resolved from run.json.")


def check_model_source(spec: ModelSpec) -> None:
    """Quick checks before any loading: a local folder looks like a model, a run has weights."""
    if spec.source == "local":
        _check_model_folder(Path(spec.name_or_path), need_weights=True)
    elif spec.source == "run":
        base, _, full = run_parts(spec.name_or_path)
        if full is None:
            check_model_source(base)


def consented(spec: ModelSpec) -> ModelSpec:
    """``spec`` carrying the user's decision on its own code: allowed now, or remembered here."""
    return with_consent(spec, remote_code_allowed(spec))


def _run_base(run: ModelSpec, base: ModelSpec) -> ModelSpec:
    """A run's base model may run code only if the user allowed the run or that model (never run.json)."""
    return with_consent(base, remote_code_allowed(run) or remote_code_allowed(base))


def run_parts(run_dir: str | Path) -> tuple[ModelSpec, Path | None, Path | None]:
    """``(base model spec, adapter folder or None, full model folder or None)`` of a run folder.

    The base spec never allows remote code (whatever run.json says); loaders add the user's consent."""
    run_dir = Path(run_dir)
    record = read_run_record(run_dir)
    base = ModelSpec.from_dict(record.get("model") or {})
    adapter = run_dir / "adapter"
    full = run_dir / "model"
    adapter = adapter if (adapter / "adapter_config.json").is_file() else None
    full = full if (full / "config.json").is_file() else None
    if adapter is None and full is None:
        status = record.get("status", "unknown")
        raise ModelError(
            f"Run {run_dir.name} has no saved adapter or model yet (status: {status}); resume or finish it first."
        )
    return base, adapter, full


# ------------------------------------------------------------------------------------ tokenizer
def _tokenizer_from(folder: Path | str, spec: ModelSpec):
    """The tokenizer in ``folder``: a spare one handed back for the same files (spare_tokenizers.py), else
    built now (the GIL held throughout: ~0.25 s for the built-in model's)."""
    from transformers import AutoTokenizer

    check_remote_code(Path(folder), spec)
    key = spare_tokenizers.files_key(folder, spec.trust_remote_code)
    spare = spare_tokenizers.take(key)
    if spare is not None:
        return spare
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=spec.trust_remote_code)
    except Exception as exc:
        raise ModelError(
            f"Could not load the tokenizer of {spec.display_name} from {folder} ({type(exc).__name__}: {exc}).".replace(
                "\n", " "
            ),
            hint="The folder needs tokenizer files (tokenizer.json or tokenizer_config.json).",
        ) from None
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        elif tokenizer.unk_token is not None:
            tokenizer.pad_token = tokenizer.unk_token
    spare_tokenizers.built(tokenizer, key)
    return tokenizer


def load_tokenizer(spec: ModelSpec, state: TaskState | None = None):
    """The tokenizer of a model (for a run: the one saved with it, else the base model's)."""
    if spec.source == "run":
        base, adapter, full = run_parts(spec.name_or_path)
        base = _run_base(spec, base)
        for folder in (adapter, full):
            if folder is not None and any(folder.glob("tokenizer*")):
                return _tokenizer_from(folder, base)
        return load_tokenizer(base, state=state)
    if spec.source == "builtin":  # the tokenizer alone needs no full model conversion
        return _tokenizer_from(ensure_builtin_tokenizer(state), spec)
    spec = consented(spec)
    folder = resolve_model_folder(spec, state)
    if spec.source == "local":
        _check_model_folder(folder, need_weights=False)
    return _tokenizer_from(folder, spec)


# --------------------------------------------------------------------------------------- config
def _hf_hub_download(*args, **kwargs):  # indirection so tests can stand in for the Hub
    from huggingface_hub import hf_hub_download

    return hf_hub_download(*args, **kwargs)


def load_model_config(spec: ModelSpec, state: TaskState | None = None):
    """The model's configuration alone (for the memory estimate before loading any weights)."""
    from transformers import AutoConfig

    if spec.source == "run":
        base, _, full = run_parts(spec.name_or_path)
        base = _run_base(spec, base)
        return load_model_config(
            ModelSpec("local", str(full), base.trust_remote_code) if full is not None else base, state
        )
    spec = consented(spec)
    if spec.source == "hub":
        try:
            folder = Path(_hf_hub_download(spec.name_or_path, "config.json", revision=spec.revision)).parent
        except Exception as exc:
            raise ModelError(
                f"Could not get the configuration of '{spec.name_or_path}' from the Hugging Face Hub: {hub_failure(exc)}.",
                hint="Check the model id and your network connection, or pick a local folder.",
            ) from None
    else:
        folder = resolve_model_folder(spec, state)
        _check_model_folder(folder, need_weights=False)
    check_remote_code(folder, spec)
    try:
        return AutoConfig.from_pretrained(str(folder), trust_remote_code=spec.trust_remote_code)
    except Exception as exc:
        raise ModelError(
            f"{folder / 'config.json'} is not a model configuration transformers understands ({type(exc).__name__}: {exc}).".replace(
                "\n", " "
            )
        ) from None


# ---------------------------------------------------------------------------------------- model
def is_seq2seq_config(config) -> bool:
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES

    return bool(getattr(config, "is_encoder_decoder", False)) or (
        getattr(config, "model_type", None) in MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES
    )


def is_seq2seq_model(spec: ModelSpec, state: TaskState | None = None) -> bool:
    """Whether ``spec`` is an encoder-decoder (seq2seq) model, from its configuration alone (no weights).

    The built-in model is causal; a run asks its saved full model or its base; a local folder with a
    tokenizer but no ``config.json`` counts as causal (counting tokens needs only the tokenizer).
    An unreadable configuration raises :class:`ModelError` like :func:`load_model_config`."""
    if spec.source == "builtin":
        return False
    if spec.source == "local" and not (Path(spec.name_or_path) / "config.json").is_file():
        return False
    return is_seq2seq_config(load_model_config(spec, state))


def context_length_of(config, tokenizer=None) -> int:
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1_000_000:
        return limit
    return 512  # T5-style relative positions: the length it was trained at


def _model_from(folder: Path, spec: ModelSpec, *, dtype: torch.dtype, state: TaskState | None):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM

    _check_model_folder(folder, need_weights=True)
    if check_remote_code(folder, spec) and state:
        state.report(None, f"Running the code shipped with {spec.display_name} (allowed by you)")
    try:
        config = AutoConfig.from_pretrained(str(folder), trust_remote_code=spec.trust_remote_code)
    except Exception as exc:
        raise ModelError(
            f"{folder / 'config.json'} is not a model configuration transformers understands ({type(exc).__name__}: {exc}).".replace(
                "\n", " "
            ),
        ) from None
    seq2seq = is_seq2seq_config(config)
    auto = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM
    if state:
        state.check_cancelled()
        state.report(None, f"Loading {spec.display_name}")
    try:
        model = auto.from_pretrained(str(folder), config=config, dtype=dtype, trust_remote_code=spec.trust_remote_code)
    except Exception as exc:
        if is_refused_pickle(exc):
            raise ModelError(refused_pickle_message("The model weights", folder)) from None
        raise ModelError(
            f"Could not load the model weights from {folder} ({type(exc).__name__}: {exc}).".replace("\n", " "),
            hint="The folder may be damaged or hold an architecture that is not a causal or seq2seq language model.",
        ) from None
    return model, seq2seq


def load_model(
    spec: ModelSpec,
    *,
    for_training: bool = False,
    dtype: torch.dtype | str | None = None,
    device: torch.device | str | None = None,
    state: TaskState | None = None,
) -> LoadedModel:
    """Load model + tokenizer on ``device`` (default: best available) in ``dtype`` (default: bf16
    where supported, else fp32). A run loads its base model with the LoRA adapter applied
    (trainable when ``for_training``) or its fully fine-tuned weights."""
    device = choose_device(device) if not isinstance(device, torch.device) else device
    if isinstance(dtype, str):
        dtype = choose_dtype(device, dtype)
    dtype = dtype or choose_dtype(device)
    if state:
        state.report(None, f"Preparing {spec.display_name}")

    adapter = None
    if spec.source == "run":
        base, adapter, full = run_parts(spec.name_or_path)
        base = _run_base(spec, base)
        folder = full if full is not None else resolve_model_folder(base, state)
        model_spec = base if full is None else ModelSpec("local", str(full), base.trust_remote_code)
    else:
        model_spec = consented(spec)
        folder = resolve_model_folder(model_spec, state)
    model, seq2seq = _model_from(folder, model_spec, dtype=dtype, state=state)
    tokenizer = load_tokenizer(spec, state=state) if spec.source == "run" else _tokenizer_from(folder, model_spec)
    if adapter is not None:
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(model, str(adapter), is_trainable=for_training)
        except Exception as exc:
            if is_refused_pickle(exc):
                raise ModelError(refused_pickle_message("The LoRA adapter", adapter)) from None
            raise ModelError(
                f"The LoRA adapter in {adapter} does not fit its base model {base.display_name} ({type(exc).__name__}: {exc}).".replace(
                    "\n", " "
                )
            ) from None
    if not seq2seq:
        tokenizer.padding_side = "left"  # batched generation continues right after each prompt
    model.to(device)
    model.train(for_training)
    if not for_training:
        for parameter in model.parameters():
            parameter.requires_grad_(False)
    if state:
        state.report(1.0, f"{spec.display_name} loaded")
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        is_seq2seq=seq2seq,
        spec=spec,
        context_length=context_length_of(model.config, tokenizer),
        device=device,
        dtype=dtype,
    )
