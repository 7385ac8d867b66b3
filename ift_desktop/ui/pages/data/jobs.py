"""The wizard's long work, as plain functions a worker thread runs (``fn(..., state=TaskState)``).

- :func:`plan_dataset` runs the data core's own ``prepare`` / ``prepare_mixture`` into a
  throw-away folder and reads the result back, so the split counts, leakage warnings and
  statistics the wizard shows are exactly what ``ift-desktop prepare`` would write;
- :func:`save_dataset` writes that planned dataset into the workspace with the core's atomic
  ``write_dataset`` (an existing folder is never half-overwritten);
- :func:`load_tokenizer_for` and :func:`measure` load the chosen model's tokenizer and count tokens.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ift_desktop.core.data.dataset_files import SPLITS, read_split, write_dataset
from ift_desktop.core.data.prepare import MixtureComponent, PrepareConfig, prepare, prepare_mixture
from ift_desktop.core.data.stats import token_stats
from ift_desktop.core.data.templates import TemplateLibrary
from ift_desktop.core.progress import TaskState


@dataclass
class DatasetPlan:
    """A prepared dataset held in memory until the user saves it."""

    splits: dict[str, list[dict]]
    manifest: dict
    leakage: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(self.splits.get(name, [])) for name in SPLITS}

    def examples(self) -> list[dict]:
        return [example for name in SPLITS for example in self.splits.get(name, [])]


def plan_dataset(
    config: PrepareConfig,
    components: list[MixtureComponent] | None,
    *,
    library: TemplateLibrary,
    state: TaskState | None = None,
) -> DatasetPlan:
    """Prepare the dataset (one source, or a mixture when ``components`` is given) in memory."""
    with tempfile.TemporaryDirectory(prefix="ift-wizard-") as tmp:
        out = Path(tmp) / "dataset"
        if components:
            result = prepare_mixture(
                components,
                out,
                val=config.val,
                test=config.test,
                seed=config.seed,
                state=state,
                library=library,
                source="mixture",
            )
        else:
            result = prepare(config, out, state=state, library=library)
        if state is not None:
            state.check_cancelled()
        splits = {name: read_split(out, name) for name in SPLITS}
    return DatasetPlan(splits, dict(result.manifest), list(result.leakage))


def save_dataset(
    plan: DatasetPlan, out_dir: Path, *, name: str, extra: dict | None = None, state: TaskState | None = None
) -> Path:
    """Write ``plan`` to ``out_dir`` atomically; returns the folder."""
    if state is not None:
        state.report(None, f"Writing {out_dir.name}")
        state.check_cancelled()
    manifest = {**plan.manifest, "name": name, "created_by": "data wizard", **(extra or {})}
    return write_dataset(out_dir, plan.splits, manifest)


def load_tokenizer_for(model_text: str, *, state: TaskState | None = None):
    """``(tokenizer, is_seq2seq)`` for what the user typed as the model (``builtin``, a Hub id, a folder)."""
    from ift_desktop.core.models import ModelSpec, is_seq2seq_model, load_tokenizer

    spec = ModelSpec.parse(model_text)
    if state is not None:
        state.report(None, f"Loading the tokenizer of {spec.display_name}")
    tokenizer = load_tokenizer(spec, state=state)
    return tokenizer, is_seq2seq_model(spec, state)


def measure(examples: list[dict], tokenizer, *, max_length: int, is_seq2seq: bool, state: TaskState | None = None):
    """Token statistics of ``examples`` (the data core's ``token_stats``)."""
    return token_stats(examples, tokenizer, max_length=max_length, is_seq2seq=is_seq2seq, state=state)
