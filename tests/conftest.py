"""Test set-up: headless Qt, a workspace and cache that are never the user's own, and the tiny models
and datasets of tests/tiny_models.py as fixtures.

A module picks its tiny model and data by constants: ``TINY_LLAMA_CHAT = True`` for a Llama whose
tokenizer has a chat template, ``TINY_DATA = dict(n=..., val=..., test=...)`` for the dataset's size.
Tests that train add ``pytestmark = pytest.mark.usefixtures("one_thread")``. ``ift_cli`` runs one
``ift-desktop`` command in-process (tests/cli_helpers.py)."""

from __future__ import annotations

import functools
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

from cli_helpers import run_cli  # noqa: E402 (needs the path above)
from tiny_models import make_tiny_dataset, make_tiny_llama, make_tiny_t5  # noqa: E402 (needs the path above)

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
    from ift_desktop.core.models import spare_tokenizers

    spare_tokenizers.clear()  # no tokenizer handed back by one test reaches another
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"../shared/data not found at {SHARED_DATA}; the tests need the shared evaluation data")
    return SHARED_DATA


@pytest.fixture
def one_thread():
    """One torch intra-op thread per test: on two shared cores this avoids oversubscription stalls."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def llama(tmp_path_factory, request) -> Path:
    """The module's tiny Llama folder (with a chat template where the module sets ``TINY_LLAMA_CHAT``)."""
    return make_tiny_llama(
        tmp_path_factory.mktemp("llama"), chat_template=getattr(request.module, "TINY_LLAMA_CHAT", False)
    )


@pytest.fixture(scope="module")
def t5(tmp_path_factory) -> Path:
    """The module's tiny T5 folder."""
    return make_tiny_t5(tmp_path_factory.mktemp("t5"))


@pytest.fixture(scope="module")
def data(tmp_path_factory, request) -> Path:
    """The module's tiny prepared dataset folder, sized by the module's ``TINY_DATA``."""
    return make_tiny_dataset(tmp_path_factory.mktemp("data"), **getattr(request.module, "TINY_DATA", {}))


@pytest.fixture
def ift_cli(capsys, monkeypatch):
    """``ift_cli("evaluate", "--model", ...)`` runs the command in-process: (exit code, stdout, stderr)."""
    return functools.partial(run_cli, capsys, monkeypatch)
