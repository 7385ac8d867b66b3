"""What a run's ``run.json`` says, read the same way everywhere, older layouts included.

:class:`~ift_desktop.core.training.run_folder.RunFolder` parses the file; these functions answer the
questions pages and commands ask of the parsed record. Records written before the current layout
(``schema_version`` 1) kept some fields elsewhere: ``model`` as a plain string, ``model_name``,
``data_dir`` or ``data.path`` instead of ``data.dir``, ``method`` beside the config, ``started_at``
instead of ``created``. A field of the wrong type counts as missing.
"""

from __future__ import annotations

from pathlib import Path


def recorded_config(record: dict) -> dict:
    config = record.get("config")
    return config if isinstance(config, dict) else {}


def recorded_base_model(record: dict) -> str:
    """What ``ModelSpec.parse`` needs for the run's base model (``builtin`` when the record says nothing)."""
    model = record.get("model")
    if isinstance(model, dict):
        if model.get("source") == "builtin":
            return "builtin"
        return str(model.get("name_or_path") or "builtin")
    return str(model) if isinstance(model, str) and model else "builtin"


def recorded_model_name(record: dict) -> str:
    """The base model's name as lists show it."""
    if record.get("model_name"):
        return str(record["model_name"])
    model = record.get("model")
    if isinstance(model, dict):
        return str(model.get("display_name") or model.get("name_or_path") or model.get("source") or "?")
    return str(model or "?")


def recorded_data_dir(record: dict) -> Path | None:
    """The prepared dataset folder the run trained on, or None when the record does not say."""
    data = record.get("data")
    data = data if isinstance(data, dict) else {}
    found = data.get("dir") or data.get("path") or record.get("data_dir")
    return Path(found) if isinstance(found, str) and found else None


def recorded_method(record: dict) -> str:
    return str(recorded_config(record).get("method") or record.get("method") or "?")


def recorded_created(record: dict) -> str:
    return str(record.get("created") or record.get("started_at") or "")


def recorded_status(record: dict) -> str:
    return str(record.get("status", "unknown"))
