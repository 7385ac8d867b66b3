"""Stopped runs that can go on: a run folder whose ``run.json`` says it did not finish and that
kept a checkpoint. ``load_resumable`` reads back what the run needs to continue (its exact config,
base model, dataset folder) plus the metrics and probe answers logged so far, so the curves and the
probe table continue where they stopped. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ift_desktop.core.errors import TrainingError, UserError
from ift_desktop.core.models.spec import ModelSpec
from ift_desktop.core.training.config import TrainConfig
from ift_desktop.core.training.heartbeat import read_run_status
from ift_desktop.core.training.run_file import RunFile
from ift_desktop.core.training.run_folder import RunFolder
from ift_desktop.core.training.run_lock import shown_status

RESUMABLE_STATUSES = ("stopped", "failed", "interrupted")  # "interrupted": the app or machine died mid-run


@dataclass
class ResumableRun:
    path: Path
    config: TrainConfig
    model: ModelSpec
    data_dir: Path
    last_step: int = 0
    history: list[dict] = field(default_factory=list)  # metrics.jsonl rows up to the checkpoint
    probes: list[dict] = field(default_factory=list)  # probes.jsonl rows up to the checkpoint


def _step_of(checkpoint: Path) -> int:
    return int(checkpoint.name.rsplit("-", 1)[-1])


def load_resumable(run_dir: Path, *, need_checkpoint: bool = True) -> ResumableRun:
    """What continuing ``run_dir`` needs; raises a ``UserError`` saying why when it cannot go on.
    (``need_checkpoint=False``: what following a live run needs.)"""
    run = RunFolder(run_dir)
    record = run.read_record()
    checkpoint = run.last_checkpoint()
    if checkpoint is None and need_checkpoint:
        raise TrainingError(f"Run {run.path.name} has no checkpoint to continue from; start a new run instead.")
    data = record.get("data") or {}
    data_dir = Path(data["dir"]) if isinstance(data, dict) and data.get("dir") else None
    if data_dir is None or not (data_dir / "train.jsonl").is_file():
        raise TrainingError(
            f"The dataset of run {run.path.name} ({data_dir or 'not recorded'}) is gone, so it cannot be continued; "
            "start a new run instead."
        )
    step = _step_of(checkpoint) if checkpoint is not None else 0
    return ResumableRun(
        path=run.path,
        config=_users_config(run.path, record),
        model=ModelSpec.from_dict(record.get("model") or {}),
        data_dir=data_dir,
        last_step=step,
        history=[row for row in run.read_metrics() if int(row.get("step", 0)) <= step],
        probes=[row for row in run.read_probes() if int(row.get("step", 0)) <= step],
    )


def _users_config(run_dir: Path, record: dict) -> TrainConfig:
    """The settings as the user chose them: a run launched on several processes keeps each process's
    share of the batch in run.json, and the global batch in its run file."""
    try:
        return RunFile.read(run_dir).config
    except UserError:
        return TrainConfig.from_dict(record.get("config") or {})


def resumable_runs(workspace) -> list[tuple[Path, str]]:
    """``(folder, label)`` of the runs that stopped before the end and kept a checkpoint, newest first."""
    runs = []
    for item in workspace.list_runs():
        summary = item.summary or {}
        status = shown_status(str(summary.get("status", "")), item.path)  # a live run elsewhere stays "running"
        if status not in RESUMABLE_STATUSES:
            continue
        checkpoint = RunFolder(item.path).last_checkpoint()
        if checkpoint is None:
            continue
        liveness = read_run_status(item.path).state
        if liveness == "live":
            continue  # training in another process right now: attach to it, do not start it twice
        if status == "running":
            status = "interrupted"  # its process is gone (heartbeat stopped, or the app died mid-run)
        method = (summary.get("config") or {}).get("method", "")
        detail = f"{status} at step {_step_of(checkpoint)}" + (f", {method}" if method else "")
        runs.append((item.path, f"{item.name}  ({detail})"))
    return runs
