"""Load the heavy libraries once, on one thread, before worker threads race for them.

transformers resolves its public names lazily on first access. Two threads asking for names at the
same moment (the Train page preloading the trainer while another worker reads a model config) can
see a half-initialised module and fail with "cannot import name 'AutoConfig' from 'transformers'"
(seen when the app starts). Resolving the names we use up front, on the UI thread, takes about
two seconds once and removes the race.
"""

from __future__ import annotations

import threading

_done = False
_lock = threading.Lock()  # a worker that calls warm_up() while another is in it waits for the whole import


def warm_up() -> None:
    """Resolve the names once; safe to call from any thread (the first caller imports, the others wait)."""
    global _done
    if _done:
        return
    with _lock:
        if not _done:
            _import_all()
            _done = True


def _import_all() -> None:
    import peft  # noqa: F401
    import torch  # noqa: F401
    from transformers import (  # noqa: F401
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        GenerationConfig,
        PreTrainedTokenizerBase,
        Seq2SeqTrainer,
        Seq2SeqTrainingArguments,
        StoppingCriteria,
        StoppingCriteriaList,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )
