"""The Runs page's GGUF export: refused up front for a T5 run; for a tiny Llama run, exported in a
worker and shown with the round trip and the Ollama commands."""

from __future__ import annotations

import os

import pytest
import torch
from tiny_models import make_tiny_bpe_llama, make_tiny_dataset, make_tiny_t5

from ift_desktop.cli import main
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.runs import RunsPage


@pytest.fixture
def context(tmp_path):
    from PySide6.QtCore import QSettings

    return AppContext(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))


def _train(model, data, out) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["train", "--data", str(data), "--model", str(model), "--method", "lora", "--max-steps", "2",
                     "--batch-size", "4", "--max-length", "128", "--lora-r", "4", "--out", str(out)]) == 0  # fmt: skip
    finally:
        torch.set_num_threads(before)


def _select(page, name: str) -> None:
    page.refresh()
    row = next(r for r in range(page.table.rowCount()) if page.table.item(r, 0).text() == name)
    page.table.clearSelection()
    page.table.selectRow(row)


def test_gguf_export_from_the_runs_page(qtbot, context, tmp_path):
    data = make_tiny_dataset(tmp_path / "data", n=8, val=2, test=2)
    _train(make_tiny_bpe_llama(tmp_path / "llama"), data, context.workspace.runs_dir / "tiny-chat")
    _train(make_tiny_t5(tmp_path / "t5"), data, context.workspace.runs_dir / "tiny-t5")
    page = RunsPage(context)
    qtbot.addWidget(page)
    page.resize(1024, 700)
    page.show()
    panel = page.gguf_export

    _select(page, "tiny-t5")
    assert not panel.export_button.isEnabled()
    assert "not available" in panel.message.text() and "sequence-to-sequence" in panel.message.text()

    _select(page, "tiny-chat")
    assert panel.export_button.isEnabled() and panel.message.text() == ""
    out = tmp_path / "exports" / "tiny-chat-f16.gguf"
    panel.start_export(out, "f16")
    assert not panel.export_button.isEnabled()
    qtbot.waitUntil(lambda: panel.task is None, timeout=120000)
    assert panel.message.kind == "success", panel.message.text()
    assert "exactly as the model in the app" in panel.message.text()
    text = panel.result.text()
    assert "ollama create tiny-chat-f16 -f" in text and "ollama run tiny-chat-f16" in text
    assert out.is_file() and (out.parent / "Modelfile").is_file()
    assert panel.copy_button.isVisible()
    if os.environ.get("IFT_SCREENSHOTS"):
        page.grab().save(os.path.join(os.environ["IFT_SCREENSHOTS"], "runs-gguf-export.png"))


def test_cancelled_gguf_export_leaves_nothing(qtbot, context, tmp_path):
    data = make_tiny_dataset(tmp_path / "data", n=8, val=2, test=2)
    _train(make_tiny_bpe_llama(tmp_path / "llama"), data, context.workspace.runs_dir / "tiny-chat")
    page = RunsPage(context)
    qtbot.addWidget(page)
    _select(page, "tiny-chat")
    panel = page.gguf_export
    out = tmp_path / "exports" / "x.gguf"
    panel.start_export(out, "q8_0")
    page.table.clearSelection()  # a selection made meanwhile applies once the export ends
    panel.cancel()
    qtbot.waitUntil(lambda: panel.task is None, timeout=120000)
    assert "cancelled" in panel.message.text() and not out.exists()
    assert panel.summary is None and not panel.export_button.isEnabled()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
