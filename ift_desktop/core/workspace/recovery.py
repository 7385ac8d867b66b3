"""Opening a workspace after a crash: what a killed process or a damaged disk left behind is repaired.

- The index (``workspace.sqlite``) is a cache of the folders. When it is unreadable (garbage, a
  folder of that name, a half-written file) it is moved aside as ``workspace.sqlite.damaged-TIME``
  and rebuilt from the folders; nothing the user made lives only in it.
- Folder swaps a dead process left half-done (``core/atomic.py``) are finished or undone in
  ``datasets/``, ``runs/``, ``evaluations/`` and inside each run folder.
- A run whose record says "running" but that no process trains (its lock is free: the process
  died) is marked "interrupted" in its ``run.json``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

from ..atomic import recover_folder_swaps
from ..training.run_folder import RunFolder

log = logging.getLogger(__name__)


def index_is_usable(path: Path) -> bool:
    """Whether ``path`` is missing (a new index) or an SQLite file that answers a quick check."""
    if not path.exists() and not path.is_symlink():
        return True
    if not path.is_file():
        return False
    try:
        with sqlite3.connect(path, timeout=5) as db:
            row = db.execute("PRAGMA quick_check").fetchone()
            db.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
        return bool(row) and row[0] == "ok"
    except sqlite3.Error:
        return False


def set_damaged_index_aside(path: Path) -> Path | None:
    """Move an unusable index out of the way (kept for a look later); returns where it went."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
    try:
        os.replace(path, aside)
    except OSError as exc:
        log.warning("The workspace index %s is damaged and could not be moved aside (%s).", path, exc)
        return None
    log.warning("The workspace index %s was damaged; kept it as %s and rebuilt it from the folders.", path, aside)
    return aside


def recover_leftovers(root: Path) -> list[str]:
    """Finish or undo interrupted folder swaps in the workspace; returns what was done."""
    done: list[str] = []
    for sub in ("datasets", "runs", "evaluations"):
        folder = root / sub
        done += recover_folder_swaps(folder)
        if sub == "runs" and folder.is_dir():
            for run in folder.iterdir():
                if run.is_dir() and not run.name.startswith("."):
                    done += recover_folder_swaps(run)
                    if RunFolder(run).mark_if_interrupted():
                        done.append(f"run {run.name} was interrupted (no process trains it any more)")
    for line in done:
        log.info("Workspace %s: %s", root, line)
    return done
