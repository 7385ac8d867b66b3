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
import platform
import re
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import append_jsonl, atomic_write_json, atomic_write_jsonl, read_jsonl_tolerant
from ..errors import TrainingError

RUN_SCHEMA_VERSION = 1
# written before training starts by whoever launches a run in another process (run_file.py, launch.py,
# heartbeat.py, supervisor.py); a folder holding only these is still a new run's folder
LAUNCH_FILES = frozenset({"launch.json", "accelerate.yaml", "status.json", "control.json", "launch.log"})
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def library_versions() -> dict:
    import peft
    import torch
    import transformers

    from ift_desktop import __version__

    return {
        "ift_desktop": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
    }


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
    def read_record(self) -> dict:
        try:
            return json.loads(self.record_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TrainingError(f"{self.path} holds no run (run.json is missing); start a new run there instead.") from None
        except (OSError, ValueError) as exc:
            raise TrainingError(f"{self.record_path} is unreadable ({exc}); the run folder is damaged.") from None

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

    def check_new(self) -> None:
        """Refuse to start a fresh run over an existing one (nothing the user made is lost)."""
        if self.path.exists() and not self.path.is_dir():
            raise TrainingError(f"{self.path} is a file; choose a folder for the run.")
        if self.exists():
            raise TrainingError(
                f"{self.path} already holds a run; choose a new output folder, or add --resume to continue it."
            )
        if self.path.is_dir() and any(child.name not in LAUNCH_FILES for child in self.path.iterdir()):
            raise TrainingError(f"{self.path} is not empty; choose a new or empty folder for the run.")
