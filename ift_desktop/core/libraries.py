"""Load the heavy libraries once, on one thread, before worker threads race for them.

transformers resolves its public names lazily on first access. Two threads asking for names at the
same moment (the Train page preloading the trainer while another worker reads a model config) can
see a half-initialised module and fail with "cannot import name 'AutoConfig' from 'transformers'"
(seen when the app starts). Resolving the names we use up front, on the UI thread, takes about
two seconds once and removes the race.

Then it freezes the objects made so far (``gc.freeze``): the libraries' millions of long-lived objects
leave the cyclic garbage collector's generations, so a later full collection does not walk them. Without
it a full collection while a worker loads the built-in model held the GIL, and so froze the window, for
~0.42 s (py-spy: ``gc_collect_main`` inside transformers' start-up regexes); with it that load has no gap
over 0.2 s and takes 0.76 s instead of 1.11 (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import gc
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
            gc.freeze()  # what the imports made lives as long as the process: no collection walks it again
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
