"""Reading a run folder for display and comparison, and exporting what a run produced.

A run folder (written by core/training) holds ``run.json``, ``metrics.jsonl`` and either
``adapter/`` (LoRA) or ``model/`` (full fine-tuning). These helpers only read it, or write a new
folder atomically; they never modify the run.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_directory
from ..errors import ModelError
from ..progress import TaskState
from ..training.heartbeat import shown_status
from ..training.run_folder import RunFolder
from ..training.run_record import (
    recorded_config,
    recorded_created,
    recorded_method,
    recorded_model_name,
    recorded_status,
)


@dataclass
class RunSummary:
    name: str
    path: Path
    status: str
    model: str
    method: str
    steps: int
    last_loss: float | None
    best_eval_loss: float | None
    created: str
    config: dict = field(default_factory=dict)
    curve: list[tuple[int, float]] = field(default_factory=list)  # (step, training loss)
    eval_curve: list[tuple[int, float]] = field(default_factory=list)  # (step, validation loss)


def summarize_run(run_dir: str | Path) -> RunSummary:
    run_dir = Path(run_dir)
    folder = RunFolder(run_dir)
    record = folder.record_or_none() or {}  # a damaged record still lists the run
    config = recorded_config(record)
    metrics = folder.read_metrics()
    curve = [(int(m["step"]), float(m["loss"])) for m in metrics if m.get("loss") is not None and "step" in m]
    eval_curve = [(int(m["step"]), float(m["eval_loss"])) for m in metrics if m.get("eval_loss") is not None]
    steps = max([int(m.get("step", 0)) for m in metrics] or [int(record.get("global_step") or 0)])
    return RunSummary(
        name=run_dir.name,
        path=run_dir,
        status=shown_status(recorded_status(record), run_dir),
        model=recorded_model_name(record),
        method=recorded_method(record),
        steps=steps,
        last_loss=curve[-1][1] if curve else None,
        best_eval_loss=min((v for _s, v in eval_curve), default=None),
        created=recorded_created(record),
        config=config,
        curve=curve,
        eval_curve=eval_curve,
    )


def config_differences(summaries: list[RunSummary]) -> dict[str, list]:
    """The settings that differ between runs: name → one value per run (for the compare view)."""
    keys = sorted({k for s in summaries for k in s.config})
    diffs = {}
    for key in keys:
        values = [s.config.get(key) for s in summaries]
        if len({json.dumps(v, sort_keys=True, default=str) for v in values}) > 1:
            diffs[key] = values
    return diffs


def load_merged_model(run_dir: str | Path, *, dtype=None, device=None, state: TaskState | None = None):
    """``(model, tokenizer)`` of a run: the base model with its LoRA adapter merged into the weights
    (a full fine-tuning run: its own model), ready to save or convert."""
    from ..models import ModelSpec, load_model

    state = state or TaskState()
    state.report(0.05, "Loading the base model and the adapter…")
    loaded = load_model(ModelSpec.parse(run_dir), dtype=dtype, device=device, state=state)
    state.check_cancelled()
    model = loaded.model
    if hasattr(model, "merge_and_unload"):
        state.report(0.6, "Merging the adapter into the weights…")
        model = model.merge_and_unload()
    state.check_cancelled()
    return model, loaded.tokenizer


def export_run(run_dir: str | Path, out_dir: str | Path, *, merged: bool, state: TaskState | None = None) -> Path:
    """Export a run's result to ``out_dir``: the LoRA adapter as it is, or a merged standalone model.

    The merged model is saved as safetensors with its tokenizer, loadable by any transformers
    program with ``from_pretrained(out_dir)``. ``out_dir`` is written whole or not at all.
    """
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    adapter, full = run_dir / "adapter", run_dir / "model"
    if not adapter.is_dir() and not full.is_dir():
        raise ModelError(
            f"Run folder {run_dir} holds no trained model yet (no adapter/ or model/ folder); "
            "train it to the end or stop it with Stop, which saves one."
        )
    if out_dir.resolve() == run_dir.resolve() or run_dir.resolve() in out_dir.resolve().parents:
        raise ModelError("Choose an export folder outside the run folder.")
    state = state or TaskState()
    with atomic_directory(out_dir) as tmp:
        if not merged or not adapter.is_dir():
            state.report(0.2, "Copying files…")
            source = adapter if adapter.is_dir() else full
            for item in source.iterdir():
                target = tmp / item.name
                if item.is_dir():
                    shutil.copytree(item, target)
                else:
                    shutil.copy2(item, target)
            state.check_cancelled()
        else:
            model, tokenizer = load_merged_model(run_dir, state=state)
            state.report(0.8, "Saving the merged model (safetensors)…")
            model.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
        (tmp / "EXPORTED_FROM.txt").write_text(f"Exported by IFT Desktop from run {run_dir}\n", encoding="utf-8")
    state.report(1.0, "Exported")
    return out_dir
