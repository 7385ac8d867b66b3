"""Workspace folders plus a SQLite index of what is in them.

Layout under the workspace root::

    datasets/<name>/        manifest.json, train.jsonl, validation.jsonl, test.jsonl
    runs/<name>/            run.json, metrics.jsonl, checkpoints/, adapter/ or model/
    evaluations/<name>.json the JSON of `ift-desktop evaluate`
    templates/              the user's own prompt templates
    workspace.sqlite        the index (name, kind, path, created, summary)

The folders are the truth: the index is refreshed from them on every listing, so a folder
copied in by hand or an index lost in a crash costs nothing; a damaged index is set aside and
rebuilt when the workspace opens (``recovery.py``).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import workspace_root
from ..training.run_folder import RunFolder
from .recovery import index_is_usable, recover_leftovers, set_damaged_index_aside

KINDS = ("dataset", "run", "evaluation")


@dataclass
class WorkspaceItem:
    kind: str
    name: str
    path: Path
    created: float
    summary: dict = field(default_factory=dict)


def unique_name(folder: Path, base: str) -> str:
    """A file-system-safe name under ``folder`` that does not exist yet (``base``, ``base-2``, ...)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "item"
    name, n = slug, 1
    while (folder / name).exists() or (folder / f"{name}.json").exists():
        n += 1
        name = f"{slug}-{n}"
    return name


class Workspace:
    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else workspace_root()
        for sub in ("datasets", "runs", "evaluations", "templates"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._db_path = self.root / "workspace.sqlite"
        self.recovered = recover_leftovers(self.root)
        self.damaged_index: Path | None = None
        if not index_is_usable(self._db_path):  # a cache of the folders: keep it aside, rebuild it
            self.damaged_index = set_damaged_index_aside(self._db_path)
        try:
            with self._connect() as db:
                db.execute(
                    "CREATE TABLE IF NOT EXISTS items (kind TEXT, name TEXT, path TEXT, created REAL,"
                    " summary TEXT, PRIMARY KEY (kind, name))"
                )
        except sqlite3.Error:
            pass  # still unusable (e.g. a folder that could not be moved): listings work from the folders
        if self.damaged_index is not None:
            for kind in KINDS:
                self._list(kind)

    # folders ----------------------------------------------------------------------------------
    @property
    def datasets_dir(self) -> Path:
        return self.root / "datasets"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def evaluations_dir(self) -> Path:
        return self.root / "evaluations"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    def new_dataset_path(self, base: str) -> Path:
        return self.datasets_dir / unique_name(self.datasets_dir, base)

    def new_run_path(self, base: str) -> Path:
        return self.runs_dir / unique_name(self.runs_dir, base)

    def new_evaluation_path(self, base: str) -> Path:
        return self.evaluations_dir / f"{unique_name(self.evaluations_dir, base)}.json"

    # listing ----------------------------------------------------------------------------------
    def list_datasets(self) -> list[WorkspaceItem]:
        return self._list("dataset")

    def list_runs(self) -> list[WorkspaceItem]:
        return self._list("run")

    def list_evaluations(self) -> list[WorkspaceItem]:
        return self._list("evaluation")

    def _scan(self, kind: str) -> list[WorkspaceItem]:
        items = []
        if kind == "dataset":
            for manifest in self.datasets_dir.glob("*/manifest.json"):
                items.append(self._item(kind, manifest.parent, manifest))
        elif kind == "run":
            for run_json in self.runs_dir.glob("*/run.json"):
                items.append(
                    self._item(kind, run_json.parent, run_json, summary=RunFolder(run_json.parent).record_or_none())
                )
        else:
            for file in self.evaluations_dir.glob("*.json"):
                items.append(self._item(kind, file, file, name=file.stem))
        return items

    @staticmethod
    def _item(
        kind: str, path: Path, record: Path, name: str | None = None, summary: dict | None = None
    ) -> WorkspaceItem:
        if summary is None and kind != "run":  # a run's record is read by RunFolder
            try:
                summary = json.loads(record.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                summary = None
        if not isinstance(summary, dict):
            summary = {"error": f"{record.name} could not be read"}
        if kind == "evaluation":  # keep the index small: no per-example rows
            summary = {k: v for k, v in summary.items() if k not in ("examples",)}
        return WorkspaceItem(kind, name or path.name, path, record.stat().st_mtime, summary)

    def _list(self, kind: str) -> list[WorkspaceItem]:
        items = self._scan(kind)
        try:
            with self._connect() as db:
                db.execute("DELETE FROM items WHERE kind = ?", (kind,))
                db.executemany(
                    "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?)",
                    [(i.kind, i.name, str(i.path), i.created, json.dumps(i.summary, default=str)) for i in items],
                )
        except sqlite3.Error:
            pass  # the index is a convenience; the folders are the truth
        return sorted(items, key=lambda i: i.created, reverse=True)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._db_path, timeout=5)

    def touch(self) -> float:
        return time.time()
