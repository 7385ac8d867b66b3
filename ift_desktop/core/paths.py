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


def resources_dir() -> Path:
    """The read-only resources shipped inside the package (templates, sample data, icons)."""
    return Path(__file__).resolve().parent.parent / "resources"
