"""Whether a run can go on, decided once for ``train --resume`` and the Train page.

:func:`check_resumable` is the decision: the folder holds a run, no other process trains it now, and it
kept a checkpoint to continue from. :func:`load_resumable` adds what continuing from the app needs (its
exact config, base model and dataset folder, plus the metrics and probe answers logged so far, so the
curves and the probe table continue where they stopped); :func:`resumable_runs` lists the runs of a
workspace that stopped before the end and can go on. No Qt here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TrainingError, UserError
from ..models.spec import ModelSpec
from .config import TrainConfig
from .heartbeat import read_run_status, shown_status
from .run_file import RunFile
from .run_folder import RunFolder
from .run_lock import is_held_by_another
from .run_record import recorded_base_model, recorded_config, recorded_data_dir, recorded_method, recorded_status

RESUMABLE_STATUSES = ("stopped", "failed", "interrupted")  # "interrupted": the app or machine died mid-run


class ResumeRefused(TrainingError):
    """The run cannot go on; ``reason`` is "no-run", "live", "unstarted" or "no-checkpoint"."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class ResumableRun:
    path: Path
    config: TrainConfig
    model: ModelSpec
    data_dir: Path
    last_step: int = 0
    history: list[dict] = field(default_factory=list)  # metrics.jsonl rows up to the checkpoint
    probes: list[dict] = field(default_factory=list)  # probes.jsonl rows up to the checkpoint


def is_trained_elsewhere(run_dir: str | Path) -> bool:
    """Whether another process trains the run now: it holds the run lock, or its heartbeat is live.
    (A status file naming this process is the one the app or ``--detach`` wrote before starting it.)"""
    status = read_run_status(run_dir)
    return is_held_by_another(run_dir) or (status.is_live and status.pid != os.getpid())


def check_resumable(run_dir: str | Path, *, need_checkpoint: bool = True) -> tuple[RunFolder, dict, Path | None]:
    """The run folder, its record and the checkpoint to continue from; a :class:`ResumeRefused` says why
    the run cannot go on. ``need_checkpoint=False`` skips the last three checks (following a live run)."""
    run = RunFolder(run_dir)
    if not run.exists():
        raise ResumeRefused(f"{run.path} holds no run to resume; start a new run there instead.", "no-run")
    record = run.read_record()
    checkpoint = run.last_checkpoint()
    if not need_checkpoint:
        return run, record, checkpoint
    if is_trained_elsewhere(run.path):
        raise ResumeRefused(f"Run {run.path.name} is still training in another process; attach to it instead.", "live")
    if checkpoint is None and run.is_unstarted():
        raise ResumeRefused(
            f"{run.path} has no checkpoint to resume from (the run ended before its first one); start it again "
            "from the beginning in that folder, without resuming.",
            "unstarted",
        )
    if checkpoint is None:
        raise ResumeRefused(
            f"Run {run.path.name} has no checkpoint to continue from; start a new run instead.", "no-checkpoint"
        )
    return run, record, checkpoint


def load_resumable(run_dir: str | Path, *, need_checkpoint: bool = True) -> ResumableRun:
    """What continuing ``run_dir`` from the app needs; raises a ``UserError`` saying why when it cannot go on.
    (``need_checkpoint=False``: what following a live run needs.)"""
    run, record, checkpoint = check_resumable(run_dir, need_checkpoint=need_checkpoint)
    data_dir = recorded_data_dir(record)
    if data_dir is None or not (data_dir / "train.jsonl").is_file():
        raise TrainingError(
            f"The dataset of run {run.path.name} ({data_dir or 'not recorded'}) is gone, so it cannot be continued; "
            "start a new run instead."
        )
    step = RunFolder.checkpoint_step(checkpoint) if checkpoint is not None else 0
    model = record.get("model")  # a record of the first layout names the model by a string
    return ResumableRun(
        path=run.path,
        config=_users_config(run.path, record),
        model=ModelSpec.from_dict(model) if isinstance(model, dict) else ModelSpec.parse(recorded_base_model(record)),
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
        return TrainConfig.from_dict(recorded_config(record))


def resumable_runs(workspace) -> list[tuple[Path, str]]:
    """``(folder, label)`` of the runs that stopped before the end and kept a checkpoint, newest first."""
    runs = []
    for item in workspace.list_runs():
        summary = item.summary if isinstance(item.summary, dict) else {}
        status = shown_status(recorded_status(summary), item.path)  # a live run elsewhere stays "running"
        checkpoint = RunFolder(item.path).last_checkpoint()
        if status not in RESUMABLE_STATUSES or checkpoint is None or is_trained_elsewhere(item.path):
            continue
        method = recorded_method(summary)
        detail = f"{status} at step {RunFolder.checkpoint_step(checkpoint)}" + (f", {method}" if method != "?" else "")
        runs.append((item.path, f"{item.name}  ({detail})"))
    return runs
