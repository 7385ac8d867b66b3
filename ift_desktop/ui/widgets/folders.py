"""Where a file dialog opens: the folder last used for that kind of file, else the workspace."""

from __future__ import annotations

from pathlib import Path


def last_folder(settings, kind: str, fallback: str | Path) -> str:
    """The folder last chosen for ``kind`` (kept in QSettings, UI state only) if it still exists."""
    folder = settings.value(f"folders/{kind}") if settings is not None else None
    if isinstance(folder, str) and folder and Path(folder).is_dir():
        return folder
    return str(fallback)


def remember_folder(settings, kind: str, chosen: str | Path) -> None:
    """Remember the folder of ``chosen`` (a file or a folder) for the next dialog of ``kind``."""
    if settings is None or not chosen:
        return
    path = Path(chosen)
    settings.setValue(f"folders/{kind}", str(path if path.is_dir() else path.parent))
