"""Whether a model may run its own Python code (``trust_remote_code``): only when the user allowed it.

A model folder can ship Python (``auto_map`` in ``config.json`` or ``tokenizer_config.json``) that
transformers imports when ``trust_remote_code=True``. Consent to run it comes from the user on this
machine, never from a file that travels with the data:

- for this load only: ``ModelSpec.trust_remote_code``, set from what the user did now (the
  ``--trust-remote-code`` option, the "Trust remote code" box on the Train page), never read back
  from a ``run.json`` or a dataset;
- remembered for one model: :func:`remember_trusted` stores the resolved model key (Hub id and
  revision, or the absolute folder) in this user's settings folder (``paths.config_dir()``),
  outside every run and dataset folder. Training with consent remembers it for the new run, so the
  run the user made can be evaluated and resumed later without asking again.

:func:`check_remote_code` refuses, before transformers sees the folder, a model that would need code
the user did not allow, and says how to allow it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

from ..atomic import atomic_write_json
from ..errors import ModelError
from ..paths import config_dir
from ..training.run_folder import RunFolder
from .spec import ModelSpec

log = logging.getLogger(__name__)
_STORE = "trusted-model-code.json"
_CODE_FILES = ("config.json", "tokenizer_config.json", "processor_config.json", "preprocessor_config.json")
HOW_TO_ALLOW = (
    "Allow it only if you trust the model's author: on the command line add --trust-remote-code; "
    "in the app tick 'Trust remote code for this model' on the Train page."
)


def model_key(spec: ModelSpec) -> str:
    """What a remembered choice is keyed by: the Hub id (+ revision) or the resolved folder."""
    if spec.source == "hub":
        return f"hub:{spec.name_or_path}@{spec.revision or 'main'}"
    return f"{spec.source}:{Path(spec.name_or_path).expanduser().resolve()}"


def _store_path() -> Path:
    return config_dir() / _STORE


def _read_store() -> dict:
    try:
        data = json.loads(_store_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    models = data.get("models") if isinstance(data, dict) else None
    return models if isinstance(models, dict) else {}


def is_remembered(spec: ModelSpec) -> bool:
    return spec.source != "builtin" and _read_store().get(model_key(spec)) is True


def remember_trusted(spec: ModelSpec) -> None:
    """Remember that the user allows ``spec``'s own code (kept in this user's settings folder)."""
    if spec.source == "builtin":
        return
    models = _read_store()
    models[model_key(spec)] = True
    atomic_write_json(_store_path(), {"models": models})


def forget_trusted(spec: ModelSpec) -> None:
    models = _read_store()
    if models.pop(model_key(spec), None) is not None:
        atomic_write_json(_store_path(), {"models": models})


def remote_code_allowed(spec: ModelSpec) -> bool:
    """True only when the user allowed ``spec``'s code now (the spec's flag) or remembered it here."""
    if spec.source == "builtin":
        return False
    return bool(spec.trust_remote_code) or is_remembered(spec)


def with_consent(spec: ModelSpec, allowed: bool) -> ModelSpec:
    """``spec`` carrying exactly the user's decision (a run's record never decides it)."""
    return replace(spec, trust_remote_code=bool(allowed))


def code_files_needed(folder: Path) -> list[str]:
    """The Python modules a model folder asks transformers to import (its ``auto_map``), if any."""
    needed: list[str] = []
    for name in _CODE_FILES:
        path = Path(folder) / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        auto_map = data.get("auto_map") if isinstance(data, dict) else None
        if auto_map:
            values = auto_map.values() if isinstance(auto_map, dict) else [auto_map]
            for value in values:
                for ref in value if isinstance(value, (list, tuple)) else [value]:
                    if isinstance(ref, str) and ref:
                        module = ref.split("--")[-1].rsplit(".", 1)[0] + ".py"
                        if module not in needed:
                            needed.append(module)
            if not needed:
                needed.append(f"code named in {name}")
    return needed


def check_remote_code(folder: Path, spec: ModelSpec, *, label: str | None = None) -> bool:
    """Refuse ``folder`` when it ships code the user did not allow for ``spec``; True when code will run."""
    needed = code_files_needed(folder)
    if not needed:
        return False
    folder = Path(folder)
    name = label or spec.display_name
    if folder.name in ("model", "adapter") and RunFolder(folder.parent).exists():
        name = f"The model of run {folder.parent.name}"
    if not spec.trust_remote_code:
        raise ModelError(
            f"{name} ships its own Python code ({', '.join(needed)} in {folder}), which IFT Desktop runs only "
            "when you allow it for this model; it was not run.",
            hint=HOW_TO_ALLOW,
        )
    log.warning("Running the code shipped with %s (%s): allowed by you for this model.", name, ", ".join(needed))
    return True


def remember_for_run(model: ModelSpec, run_dir: Path) -> None:
    """Training with consent: remember it for the base model and for the run being trained from it."""
    if not model.trust_remote_code or model.source == "builtin":
        return
    remember_trusted(model)
    remember_trusted(ModelSpec("run", str(Path(run_dir).expanduser().resolve())))
