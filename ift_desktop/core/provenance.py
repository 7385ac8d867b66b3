"""What every written record says about when and with what it was made: one timestamp format and one
dict of library versions, for run folders, prepared datasets, evaluations and exports alike."""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from importlib import metadata

CORE_LIBRARIES = ("torch", "transformers", "peft")


def now_iso() -> str:
    """Now in UTC, to the second: ``2026-01-31T12:00:00+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def app_version() -> str:
    from ift_desktop import __version__

    return __version__


def package_version(name: str) -> str | None:
    """The installed version of the distribution ``name``, or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def library_versions(*extra: str) -> dict:
    """This app, Python, torch, transformers and peft, plus the ``extra`` distributions a record depends
    on (a missing one is None), by name."""
    versions = {"ift_desktop": app_version(), "python": platform.python_version()}
    for name in (*CORE_LIBRARIES, *extra):
        versions[name] = package_version(name)
    return versions
