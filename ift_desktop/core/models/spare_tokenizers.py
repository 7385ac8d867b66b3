"""Tokenizers handed back after counting tokens, taken by the next load of the same files.

Building a tokenizer holds the GIL from start to end: the built-in model's 3.5 MB ``tokenizer.json``
takes ~0.25 s in ``tokenizers.Tokenizer.from_file`` (measured, benchmarks/RESULTS.md), and the window
freezes that long when a worker builds one beside it. The Train page counts the dataset's tokens
(its max length) with a tokenizer before Start; handed back here, it is the one the run takes as it
loads the model, instead of building another while the live curves are on screen.

A spare is with one user at a time: :func:`take` removes it from the pool, so no tokenizer is ever
shared between threads (the Rust tokenizer is not safe to use from two at once). Only code that did
not change a tokenizer's settings hands it back. The key is the folder and the size and time of every
file in it except weights, so an edited tokenizer file is never served from the pool. At most
:data:`MAX_SPARES` are kept, the oldest dropped first.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from pathlib import Path

MAX_SPARES = 2
_WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth", ".gguf", ".h5", ".msgpack", ".ckpt", ".onnx"}
_lock = threading.Lock()
_spares: OrderedDict[tuple, object] = OrderedDict()
_keys: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # tokenizer → the key it was built under


def files_key(folder: str | Path, trust_remote_code: bool) -> tuple | None:
    """What a tokenizer loaded from ``folder`` is made of (None when the folder cannot be read)."""
    folder = Path(folder)
    try:
        stamps = sorted(
            (path.name, path.stat().st_size, path.stat().st_mtime_ns)
            for path in folder.iterdir()
            if path.is_file() and path.suffix not in _WEIGHT_SUFFIXES
        )
        return (str(folder.resolve()), bool(trust_remote_code), tuple(stamps))
    except OSError:
        return None


def take(key: tuple | None):
    """A spare tokenizer built under ``key``, now the caller's alone; None when there is none."""
    if key is None:
        return None
    with _lock:
        return _spares.pop(key, None)


def built(tokenizer, key: tuple | None) -> None:
    """Remember what ``tokenizer`` was built from, so that it can be handed back later."""
    if key is not None:
        _keys[tokenizer] = key


def give_back(tokenizer) -> None:
    """Keep ``tokenizer`` (its settings unchanged by its user) for the next load of the same files."""
    key = _keys.get(tokenizer)
    if key is None:
        return
    with _lock:
        _spares[key] = tokenizer
        _spares.move_to_end(key)
        while len(_spares) > MAX_SPARES:
            _spares.popitem(last=False)


def clear() -> None:
    with _lock:
        _spares.clear()
