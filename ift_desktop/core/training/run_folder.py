"""The folder of one training run, as DESIGN.md describes it.

::

    RUN/run.json          config, model, data, versions, device, status, final numbers
    RUN/metrics.jsonl     one object per logged step (step, epoch, loss, learning_rate, grad_norm,
                          elapsed_s, tokens_per_s, and eval_loss on evaluation steps)
    RUN/probes.jsonl      the probe prompts' answers at each evaluation
    RUN/checkpoints/      checkpoint-N/ with weights, optimizer, scheduler and RNG state (resume)
    RUN/adapter/          the LoRA adapter + tokenizer (method "lora"), or
    RUN/model/            the fully fine-tuned model + tokenizer (method "full")

``run.json`` is rewritten atomically; the JSON Lines logs grow by appends. On resume the logs are cut
back to the checkpoint's step, so the curve continues instead of restarting or doubling.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ..atomic import append_jsonl, atomic_write_json, atomic_write_jsonl, read_jsonl_tolerant
from ..errors import TrainingError
from ..provenance import now_iso
from .heartbeat import shown_status
from .run_lock import CAN_TELL_LIVE_RUNS, LOCK_NAME, is_held_by_another

RUN_SCHEMA_VERSION = 1
# written before training starts by whoever launches a run in another process (run_file.py, launch.py,
# heartbeat.py, supervisor.py); a folder holding only these is still a new run's folder
LAUNCH_FILES = frozenset({"launch.json", "accelerate.yaml", "status.json", "control.json", "launch.log"})
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class RunRecordUnreadable(Exception):
    """``run.json`` could not be read; ``kind`` says how ("missing", "not-utf8", "not-json", "not-object",
    "unreadable": the disk refused), ``reason`` the details."""

    def __init__(self, path: Path, kind: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.kind, self.reason = path, kind, reason

    @property
    def missing(self) -> bool:
        return self.kind == "missing"


def read_json_record(path: Path) -> dict:
    """A run's JSON record (``run.json``, or the run file ``launch.json``) as a dict, or
    :class:`RunRecordUnreadable` saying why not."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunRecordUnreadable(path, "missing", f"{path.name} is missing") from None
    except UnicodeDecodeError as exc:
        raise RunRecordUnreadable(path, "not-utf8", str(exc)) from None
    except ValueError as exc:
        raise RunRecordUnreadable(path, "not-json", str(exc)) from None
    except OSError as exc:
        raise RunRecordUnreadable(path, "unreadable", exc.strerror or str(exc)) from None
    if not isinstance(record, dict):
        raise RunRecordUnreadable(path, "not-object", "not a JSON object")
    return record


class RunFolder:
    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()

    # ---------------------------------------------------------------------------------- paths
    @property
    def record_path(self) -> Path:
        return self.path / "run.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def probes_path(self) -> Path:
        return self.path / "probes.jsonl"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def adapter_dir(self) -> Path:
        return self.path / "adapter"

    @property
    def model_dir(self) -> Path:
        return self.path / "model"

    def artifact_dir(self, method: str) -> Path:
        return self.adapter_dir if method == "lora" else self.model_dir

    def exists(self) -> bool:
        return self.record_path.is_file()

    # --------------------------------------------------------------------------------- record
    def load_record(self) -> dict:
        """``run.json`` as a dict: the one place it is parsed. Raises :class:`RunRecordUnreadable`
        (``missing`` or damaged, with the reason) so each caller words the error for its own user."""
        return read_json_record(self.record_path)

    def read_record(self) -> dict:
        """``run.json``, or a :class:`TrainingError` saying the run is missing or damaged."""
        try:
            return self.load_record()
        except RunRecordUnreadable as exc:
            if exc.missing:
                raise TrainingError(
                    f"{self.path} holds no run (run.json is missing); start a new run there instead."
                ) from None
            if exc.kind == "not-object":
                raise TrainingError(
                    f"{self.record_path} is not a run record (not a JSON object); the run folder is damaged."
                ) from None
            raise TrainingError(
                f"{self.record_path} is unreadable ({exc.reason}); the run folder is damaged."
            ) from None

    def record_or_none(self) -> dict | None:
        """``run.json``, or None when it is missing or damaged (lists and summaries show what they can)."""
        try:
            return self.load_record()
        except RunRecordUnreadable:
            return None

    def write_record(self, record: dict) -> None:
        record = dict(record)
        record.setdefault("schema_version", RUN_SCHEMA_VERSION)
        record["updated"] = now_iso()
        atomic_write_json(self.record_path, record)

    def update_record(self, **changes) -> dict:
        record = self.read_record() if self.exists() else {}
        record.update(changes)
        self.write_record(record)
        return record

    # -------------------------------------------------------------------------------- metrics
    def append_metrics(self, row: dict) -> None:
        append_jsonl(self.metrics_path, row)

    def read_metrics(self) -> list[dict]:
        return read_jsonl_tolerant(self.metrics_path)

    def append_probe(self, row: dict) -> None:
        append_jsonl(self.probes_path, row)

    def read_probes(self) -> list[dict]:
        return read_jsonl_tolerant(self.probes_path)

    def cut_logs_after(self, step: int) -> list[dict]:
        """Drop log rows after ``step`` (they will be trained again); returns the kept metrics."""
        kept = [row for row in self.read_metrics() if int(row.get("step", 0)) <= step]
        atomic_write_jsonl(self.metrics_path, kept)
        if self.probes_path.exists():
            atomic_write_jsonl(self.probes_path, [r for r in self.read_probes() if int(r.get("step", 0)) <= step])
        return kept

    # ---------------------------------------------------------------------------- checkpoints
    def checkpoints(self) -> list[tuple[int, Path]]:
        if not self.checkpoints_dir.is_dir():
            return []
        found = []
        for child in self.checkpoints_dir.iterdir():
            match = _CHECKPOINT.match(child.name)
            if match and child.is_dir() and (child / "trainer_state.json").is_file():
                found.append((int(match.group(1)), child))
        return sorted(found)

    def last_checkpoint(self) -> Path | None:
        found = self.checkpoints()
        return found[-1][1] if found else None

    @staticmethod
    def checkpoint_step(checkpoint: str | Path) -> int:
        """The step a ``checkpoint-N`` folder was saved at."""
        match = _CHECKPOINT.match(Path(checkpoint).name)
        if match is None:
            raise ValueError(f"{checkpoint} is not a checkpoint-N folder")
        return int(match.group(1))

    def shown_status(self, record: dict | None = None) -> str:
        """The record's status, with a dead "running" run shown as "interrupted"."""
        record = self.read_record() if record is None else record
        return shown_status(str(record.get("status", "unknown")), self.path)

    def mark_if_interrupted(self) -> bool:
        """Write "interrupted" into the record of a run that says "running" but that no process trains."""
        try:
            record = self.read_record()
        except TrainingError:
            return False
        if record.get("status") != "running" or shown_status("running", self.path) != "interrupted":
            return False
        try:
            self.update_record(status="interrupted", interrupted_found=now_iso())
        except OSError:
            return False
        return True

    def is_unstarted(self) -> bool:
        """A run that ended (killed, failed, stopped) before its first checkpoint or saved model, and that no
        process trains now: nothing in it is worth keeping, so it may start again from the beginning."""
        if not self.exists() or is_held_by_another(self.path):
            return False
        if self.checkpoints() or self.adapter_dir.exists() or self.model_dir.exists():
            return False
        try:
            status = self.read_record().get("status")
        except TrainingError:
            return False
        if status == "running" and not CAN_TELL_LIVE_RUNS:  # no lock on this system: it may still be training
            return False
        known = {"run.json", "metrics.jsonl", "probes.jsonl", "checkpoints", LOCK_NAME} | LAUNCH_FILES
        return status in ("running", "interrupted", "failed", "stopped") and all(
            child.name in known
            or child.name.startswith((".run.json.", ".adapter.", ".model.", *(f".{name}." for name in LAUNCH_FILES)))
            for child in self.path.iterdir()
        )

    def clear_unstarted(self) -> None:
        """Remove what an unstarted run left (record, logs, unfinished checkpoints) so it starts afresh."""
        for child in self.path.iterdir():
            if child.name == LOCK_NAME or child.name in LAUNCH_FILES:  # the run file and its launch settings stay
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()

    def check_new(self) -> bool:
        """Refuse to start a fresh run over an existing one (nothing the user made is lost).

        Returns True when the folder holds a run that died before its first checkpoint: it is started
        again from the beginning (see :meth:`clear_unstarted`)."""
        if self.path.exists() and not self.path.is_dir():
            raise TrainingError(f"{self.path} is a file; choose a folder for the run.")
        if self.exists() and is_held_by_another(self.path):
            raise TrainingError(
                f"{self.path} is being trained by another process; wait for it to end, or choose another folder."
            )
        if self.is_unstarted():
            return True
        if self.exists():
            raise TrainingError(
                f"{self.path} already holds a run; choose a new output folder, or add --resume to continue it."
            )
        if self.path.is_dir() and any(child.name not in LAUNCH_FILES | {LOCK_NAME} for child in self.path.iterdir()):
            raise TrainingError(f"{self.path} is not empty; choose a new or empty folder for the run.")
        return False
