"""Training: the run's settings, completion-only data, the Trainer loop with its event bridge
(pause / stop / resume), probe prompts and the run folder.

Names are imported lazily (PEP 562): ``from ift_desktop.core.training import TrainConfig`` loads
only ``config.py``, not transformers and peft, so a page or a command that needs the settings
does not pay seconds of imports for the trainer.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "EventCallback": "callbacks",
    "TrainingControl": "callbacks",
    "DEFAULT_LR": "config",
    "METHODS": "config",
    "SCHEDULES": "config",
    "TrainConfig": "config",
    "smaller_batch_config": "config",
    "IGNORE_INDEX": "data",
    "CompletionOnlyCollator": "data",
    "encode_example": "data",
    "load_training_data": "data",
    "TrainingResult": "loop",
    "out_of_memory_error": "out_of_memory",
    "run_training": "loop",
    "generate_answers": "probes",
    "RunFolder": "run_folder",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
