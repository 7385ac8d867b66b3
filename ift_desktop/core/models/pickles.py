"""Files that hold Python pickles are refused, and the refusal is one plain line.

PyTorch loads ``*.bin`` / ``*.pt`` files with ``weights_only=True``, which refuses any pickle that would
build an arbitrary Python object (loading one could run code). Its own message spans many lines and
suggests turning that protection off; ours says what was refused, where, and what to use instead.
"""

from __future__ import annotations

import pickle


def is_refused_pickle(exc: BaseException) -> bool:
    """Whether ``exc`` is PyTorch's (or pickle's) refusal to load a pickled object."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        if isinstance(exc, pickle.UnpicklingError) or "weights_only" in text or "Weights only load failed" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def refused_pickle_message(what: str, where) -> str:
    return (
        f"{what} in {where} holds pickled Python objects, which IFT Desktop does not load because loading them "
        "could run code; use a copy saved as safetensors (or a run folder written by IFT Desktop)."
    )
