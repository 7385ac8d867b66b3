"""Test set-up: headless Qt, and a workspace and cache that are never the user's own."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """One cache folder per test session, so the built-in model is converted at most once."""
    env = os.environ.get("IFT_DESKTOP_TEST_CACHE")
    if env:
        path = Path(env)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("ift-cache")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, session_cache, monkeypatch) -> Path:
    home = tmp_path / "ift-home"
    monkeypatch.setenv("IFT_DESKTOP_HOME", str(home))
    monkeypatch.setenv("IFT_DESKTOP_CACHE", str(session_cache))
    monkeypatch.setenv("IFT_DESKTOP_CONFIG", str(tmp_path / "ift-config"))
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"../shared/data not found at {SHARED_DATA}; the tests need the shared evaluation data")
    return SHARED_DATA
