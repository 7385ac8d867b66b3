"""The user's walk: Data → Train → Evaluate, each page preselecting what the previous one made.

The pages hand things on through the AppContext (signals, and the run Train asks Evaluate to show),
never through QSettings, which keeps only the user's preferences. The Data wizard counts tokens with a
tiny byte-level tokenizer; Train trains the tiny Llama for two real steps.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from tiny_models import make_tiny_llama
from transformers import ByT5Tokenizer

from ift_desktop.core.workspace import Workspace
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.data import DataPage
from ift_desktop.ui.pages.evaluate import EvaluatePage
from ift_desktop.ui.pages.train import TrainPage

ROWS = 24


def _write_csv(path):
    lines = ["id,dialogue,summary"]
    for i in range(ROWS):
        lines.append(f'r{i},"A: Shall we meet at {i}?\nB: Yes, at cafe {i}.","They meet at {i} at cafe {i}."')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def pages(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    context = AppContext(workspace=Workspace(tmp_path / "workspace"), settings=settings)
    data, train, evaluate = DataPage(context), TrainPage(context), EvaluatePage(context)  # as the window makes them
    for page in (data, train, evaluate):
        qtbot.addWidget(page)
        page.resize(1280, 800)
    data.stats_step.tokenizer_loader = lambda text, state=None: (ByT5Tokenizer(), False)
    data.show()
    yield context, data, train, evaluate
    data.shutdown(5000)
    train.shutdown(3000)
    evaluate.confirm_close()


def _save_a_dataset(qtbot, data, csv_path):
    data.source_step.set_file(csv_path)
    data.source_step.load()
    qtbot.waitUntil(lambda: data.state.table is not None and data.source_step.task is None, timeout=15000)
    assert data.next() and data.next() and data.next()  # columns, template, split
    data.next()
    qtbot.waitUntil(lambda: data.current == 4, timeout=20000)  # statistics
    qtbot.waitUntil(lambda: data.stats_step.stats is not None and data.stats_step.task is None, timeout=20000)
    assert data.next() and data.current == 5
    data.save_step.name_edit.setText("walk")
    with qtbot.waitSignal(data.context.datasets_changed, timeout=15000):
        data.save_step.save()
    return data.save_step.saved_path


def test_each_page_preselects_what_the_previous_page_made(qtbot, pages, tmp_path):
    context, data, train, evaluate = pages
    saved = _save_a_dataset(qtbot, data, _write_csv(tmp_path / "chats.csv"))
    assert saved is not None and saved.parent == context.workspace.datasets_dir

    data.hide()
    train.show()
    assert train.setup.dataset_picker.current_path() == str(saved)  # Train: the dataset Data just saved
    qtbot.waitUntil(lambda: train.trainer_ready and not train.setup.cost_pending, timeout=90000)
    train.setup.model_picker.select(str(make_tiny_llama(tmp_path / "tiny-llama")))
    for name, value in (("max_steps", 2), ("batch_size", 2)):
        train.setup.form.editors[name].widget.setValue(value)
    train.start_button.click()
    assert train.message.kind == "", train.message.text()
    qtbot.waitUntil(lambda: train.session is None, timeout=120000)
    run = train.last_run
    assert run is not None and (run / "adapter" / "adapter_config.json").is_file()

    with qtbot.waitSignal(context.navigate) as navigation:
        train.evaluate_button.click()
    assert navigation.args == ["evaluate"]
    assert "evaluate/run" not in context.settings.allKeys()  # handed over in the context, not in QSettings
    train.hide()
    evaluate.show()
    evaluate.on_shown()  # what the window does when it shows the page
    assert evaluate.setup.run_combo.currentData() == str(run)  # Evaluate: the run Train just made
    assert evaluate.setup.dataset_combo.currentData() == str(saved)  # ...and the dataset it trained on
    assert context.run_to_evaluate is None  # taken once: showing the page again keeps the user's choice
