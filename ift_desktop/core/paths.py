"""Where IFT Desktop keeps things on disk.

- the **workspace** (datasets, runs, evaluations, the run index): ``$IFT_DESKTOP_HOME`` or
  ``~/IFT Desktop``;
- the **cache** (converted built-in model weights, tokenizers): ``$IFT_DESKTOP_CACHE`` or
  ``$XDG_CACHE_HOME/ift-desktop`` (``~/.cache/ift-desktop``);
- the **settings** of this user on this machine (e.g. which models may run their own code):
  ``$IFT_DESKTOP_CONFIG`` or ``$XDG_CONFIG_HOME/ift-desktop`` (``~/.config/ift-desktop``). Nothing
  there travels with a dataset or a run folder.

Tests point all three at a temporary folder (tests/conftest.py), never at the real user folders.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def workspace_root() -> Path:
    env = os.environ.get("IFT_DESKTOP_HOME")
    root = Path(env).expanduser() if env else Path.home() / "IFT Desktop"
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_dir() -> Path:
    env = os.environ.get("IFT_DESKTOP_CACHE")
    if env:
        root = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(base) / "ift-desktop"
    root.mkdir(parents=True, exist_ok=True)
    return root


def config_dir() -> Path:
    env = os.environ.get("IFT_DESKTOP_CONFIG")
    if env:
        root = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        root = Path(base) / "ift-desktop"
    return root  # made by the first write (reading a missing setting creates nothing)


_RESOURCES_MARKER = "templates"  # a folder every copy of the resources has


def resources_dir() -> Path:
    """The read-only resources (templates, sample data, checks, icons, style sheet), wherever the app runs from.

    A PyInstaller bundle carries them as ``resources/`` in its unpacked folder; an installed wheel as
    ``ift_desktop/resources`` (setup.py maps the top-level folder there); a source checkout (or an
    editable install) keeps them in ``resources/`` beside ``ift_desktop/``."""
    for candidate in _resources_candidates():
        if (candidate / _RESOURCES_MARKER).is_dir():
            return candidate
    raise FileNotFoundError(
        "IFT Desktop's resources folder is missing (looked in "
        + ", ".join(str(c) for c in _resources_candidates())
        + "); reinstall IFT Desktop."
    )


def _resources_candidates() -> list[Path]:
    package = Path(__file__).resolve().parent.parent
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)  # set by PyInstaller's bootloader
    if bundle:
        candidates.append(Path(bundle) / "resources")
    candidates.append(package / "resources")  # installed wheel
    candidates.append(package.parent / "resources")  # source checkout
    return candidates
