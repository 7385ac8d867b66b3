"""One file that describes a run completely: the settings, the base model, the dataset, and where
to run it (``launch.json``; a run folder's ``run.json`` is read the same way).

``ift-desktop train --config FILE [--out RUN]`` runs from it exactly what the Train page would
run, and ``accelerate launch`` / ``torchrun`` start the same command once per process. The file
never carries consent to run a model's own Python code: ``trust_remote_code`` is a choice the user
makes on the machine that trains (the CLI flag or the app's own consent), so it is not written, and
one found in a file is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..atomic import atomic_write_json
from ..errors import SettingError, TrainingError, UserError
from ..models.spec import ModelSpec
from .config import TrainConfig
from .run_folder import RunFolder, RunRecordUnreadable, read_json_record

RUN_FILE_KIND = "ift-desktop run"
RUN_FILE_VERSION = 1
RUN_FILE_NAME = "launch.json"
STRATEGIES = ("ddp", "fsdp", "deepspeed")


@dataclass(frozen=True)
class RunFile:
    """What to train (``config`` with the global batch the user chose), from which model, on which
    data, and on how many processes (``processes``, ``strategy``: ddp, fsdp or deepspeed)."""

    config: TrainConfig
    model: ModelSpec
    data_dir: Path
    processes: int = 1
    strategy: str = "ddp"

    def __post_init__(self):
        if isinstance(self.processes, bool) or not isinstance(self.processes, int) or self.processes < 1:
            raise TrainingError(f"Processes is {self.processes!r}; it must be a whole number of at least 1.")
        if self.strategy not in STRATEGIES:
            raise TrainingError(
                f"Unknown way to share the model '{self.strategy}'; use one of: {', '.join(STRATEGIES)}."
            )
        if self.model.trust_remote_code:  # consent stays on the machine; never carried by the file
            object.__setattr__(self, "model", replace(self.model, trust_remote_code=False))

    # ------------------------------------------------------------------------------- writing
    def to_dict(self) -> dict:
        model = self.model.to_dict()
        model.pop("trust_remote_code", None)
        return {
            "kind": RUN_FILE_KIND,
            "schema_version": RUN_FILE_VERSION,
            "config": self.config.to_dict(),
            "model": model,
            "data": {"dir": str(Path(self.data_dir).resolve())},
            "launch": {"processes": self.processes, "strategy": self.strategy},
        }

    def write(self, path: str | Path) -> Path:
        return atomic_write_json(path, self.to_dict())

    def with_launch(self, processes: int, strategy: str | None = None) -> RunFile:
        return replace(self, processes=processes, strategy=strategy or self.strategy)

    # ------------------------------------------------------------------------------- reading
    @classmethod
    def from_dict(cls, data: dict, *, where: str = "the run file") -> RunFile:
        if not isinstance(data, dict):
            raise TrainingError(f"{where} is not a run file (a JSON object with config, model and data).")
        version = data.get("schema_version", RUN_FILE_VERSION) if data.get("kind") == RUN_FILE_KIND else 1
        if not isinstance(version, int) or version > RUN_FILE_VERSION:
            raise TrainingError(
                f"{where} has run-file version {version!r}; this app reads up to {RUN_FILE_VERSION}. Update the app."
            )
        missing = [key for key in ("config", "model", "data") if not isinstance(data.get(key), dict)]
        if missing:
            raise TrainingError(f"{where} lacks {', '.join(missing)}; save it again from the Train page.")
        data_dir = data["data"].get("dir")
        if not data_dir:
            raise TrainingError(f"{where} names no dataset folder (data.dir); save it again from the Train page.")
        model = dict(data["model"])
        model["trust_remote_code"] = False
        launch = data.get("launch") if isinstance(data.get("launch"), dict) else {}
        config = dict(data["config"])
        if data.get("kind") != RUN_FILE_KIND and int(launch.get("processes", 1) or 1) > 1:
            # a launched run's run.json keeps each process's share; the user's choice is the global batch
            config["grad_accum"] = int(config.get("grad_accum", 1)) * int(launch["processes"])
        try:
            return cls(
                config=TrainConfig.from_dict(config),
                model=ModelSpec.from_dict(model),
                data_dir=Path(str(data_dir)),
                processes=int(launch.get("processes", 1)),
                strategy=str(launch.get("strategy", "ddp")),
            )
        except SettingError as exc:  # a run file names its settings by their keys
            raise TrainingError(f"{where}: {exc.named(f'{exc.label} ({exc.setting})').one_line()}") from None
        except UserError as exc:
            raise TrainingError(f"{where}: {exc.one_line()}") from None
        except (TypeError, ValueError) as exc:
            raise TrainingError(f"{where} is malformed ({exc}).") from None

    @classmethod
    def read(cls, path: str | Path) -> RunFile:
        """Read ``launch.json`` (or a run folder's ``run.json``, or a run folder itself)."""
        path = Path(path).expanduser()
        if path.is_dir():
            path = path / RUN_FILE_NAME if (path / RUN_FILE_NAME).is_file() else RunFolder(path).record_path
        try:
            data = read_json_record(path)  # launch.json, or run.json (read as RunFolder reads it)
        except RunRecordUnreadable as exc:
            raise TrainingError(_UNREADABLE[exc.kind].format(path=path, reason=exc.reason)) from None
        return cls.from_dict(data, where=f"Run file {path}")


_UNREADABLE = {
    "missing": "Run file {path} does not exist; save one from the Train page first.",
    "not-utf8": "Run file {path} is not UTF-8 text; choose a launch.json or run.json.",
    "not-json": "Run file {path} is not valid JSON ({reason}).",
    "not-object": "Run file {path} is not a JSON object; choose a launch.json or run.json.",
    "unreadable": "Run file {path} cannot be read ({reason}).",
}


def write_run_file(run_dir: str | Path, run_file: RunFile) -> Path:
    """Keep the run file beside ``run.json`` in the run folder (``RUN/launch.json``)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_file.write(run_dir / RUN_FILE_NAME)
