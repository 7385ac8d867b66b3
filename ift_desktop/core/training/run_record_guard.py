"""Promises a run folder keeps when training fails or is resumed.

- Resuming never trains past the run's length: a run whose checkpoint already reached the steps asked
  for is refused before anything is loaded or written (:func:`check_steps_left`).
- A resume that fails leaves a run that had a saved model (finished, or stopped and saved) exactly as
  it was: record and logs are put back, since its adapter or model is still the old one
  (:func:`kept_on_failed_resume`).
- A failure is written to ``run.json`` even when the disk filled up: unfinished checkpoints (ours, and
  useless) are removed to make room first (:func:`record_failure`); if even that cannot be written the
  run still shows as interrupted, since no process holds its lock any more.
- Failures people can cause (a full disk, a refused pickle in a checkpoint) become one plain line.
"""

from __future__ import annotations

import contextlib
import errno
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import TrainingError
from ..models.pickles import is_refused_pickle, refused_pickle_message
from ..provenance import now_iso
from .run_folder import RunFolder


def _planned_steps(config, previous: dict, checkpoint: Path) -> int | None:
    if config.max_steps is not None:
        return int(config.max_steps)
    before = previous.get("config") if isinstance(previous.get("config"), dict) else {}
    if before.get("max_steps") is None and before.get("epochs") == config.epochs:
        try:
            state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
            return int(state["max_steps"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return None


def check_steps_left(config, previous: dict, checkpoint: Path, run: RunFolder) -> None:
    """Refuse to resume a run whose checkpoint already reached the length asked for."""
    done = RunFolder.checkpoint_step(checkpoint)
    planned = _planned_steps(config, previous, checkpoint)
    if planned is not None and done >= planned:
        raise TrainingError(
            f"Run {run.path.name} has already trained {done} of {planned} steps, so there is nothing left to resume; "
            f"to train it longer, resume it with more than {done} max steps."
        )


@contextlib.contextmanager
def kept_on_failed_resume(run: RunFolder, resume: bool) -> Iterator[None]:
    """On a failed resume of a run that had a saved model, put its record and logs back as they were."""
    saved: dict[Path, bytes] = {}
    if resume and run.exists():
        previous = run.record_or_none() or {}
        if previous.get("artifact"):
            for path in (run.record_path, run.metrics_path, run.probes_path):
                if path.is_file():
                    saved[path] = path.read_bytes()
    try:
        yield
    except BaseException:
        for path, data in saved.items():
            with contextlib.suppress(OSError):
                atomic_write_text(path, data.decode("utf-8", errors="replace"))
        raise


def _is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def known_failure(exc: BaseException, run: RunFolder, step: int | None) -> TrainingError | None:
    """A one-line :class:`TrainingError` for failures people can cause, else None."""
    where = f" at step {step}" if step else ""
    if _is_disk_full(exc):
        return TrainingError(
            f"The disk holding {run.path} is full{where}; the run stopped there. "
            "Free some space, then resume the run from its last checkpoint."
        )
    if isinstance(exc, PermissionError):
        return TrainingError(f"Cannot write into {run.path} ({exc.strerror}); choose a folder you can write to.")
    if is_refused_pickle(exc):
        return TrainingError(refused_pickle_message("A checkpoint file", run.checkpoints_dir))
    return None


def _remove_unfinished_checkpoints(run: RunFolder) -> None:
    finished = {path for _step, path in run.checkpoints()}
    if not run.checkpoints_dir.is_dir():
        return
    for child in run.checkpoints_dir.iterdir():
        if child.is_dir() and child not in finished and child.name.startswith(("checkpoint-", "tmp-checkpoint-")):
            shutil.rmtree(child, ignore_errors=True)


def record_failure(run: RunFolder, message: str, **extra) -> None:
    """Write status "failed" to run.json, making room on a full disk first; never raises."""
    for attempt in range(2):
        try:
            run.update_record(status="failed", error=message, finished=now_iso(), **extra)
            return
        except OSError as exc:
            if attempt or not _is_disk_full(exc):
                return
            _remove_unfinished_checkpoints(run)
