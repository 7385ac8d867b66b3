"""Defaults follow the user's work: the dataset saved last is preselected; a short run still evaluates."""

import time

import pytest
from PySide6.QtCore import QSettings
from tiny_models import make_tiny_dataset

from ift_desktop.core.workspace import Workspace
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.train.pickers import DatasetPicker
from ift_desktop.ui.pages.train.setup_panel import SetupPanel, fit_eval_interval
from ift_desktop.ui.widgets.dataset_choice import DatasetChoice


@pytest.fixture
def context(tmp_path):
    workspace = Workspace(tmp_path / "workspace")
    make_tiny_dataset(workspace.datasets_dir / "sample", n=12, val=2, test=2)
    return AppContext(workspace=workspace, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))


def save_another(context, name):
    time.sleep(0.02)  # a later modification time: the workspace lists the newest first
    folder = make_tiny_dataset(context.workspace.datasets_dir / name, n=12, val=2, test=2)
    context.datasets_changed.emit()
    return str(folder)


def test_the_train_page_preselects_the_dataset_saved_last(qtbot, context):
    picker = DatasetPicker(context)
    qtbot.addWidget(picker)
    assert picker.current_path().endswith("sample")
    saved = save_another(context, "dialogsum")
    assert picker.current_path() == saved


def test_the_playground_preselects_the_dataset_saved_last(qtbot, context):
    from ift_desktop.ui.pages.playground import PlaygroundPage

    page = PlaygroundPage(context)
    qtbot.addWidget(page)
    assert page.dataset_combo.currentData().endswith("sample")
    saved = save_another(context, "dialogsum")
    assert page.dataset_combo.currentData() == saved


def test_a_choice_the_user_made_is_kept_until_a_new_dataset_is_saved():
    choice = DatasetChoice()
    assert choice.choose(["/d/b", "/d/a"], None) == "/d/b"  # first listing: the newest
    assert choice.choose(["/d/b", "/d/a"], "/d/a") == "/d/a"  # the user picked the older one: kept
    assert choice.choose(["/d/c", "/d/b", "/d/a"], "/d/a") == "/d/c"  # a new one saved: preselected
    assert choice.choose(["/d/b", "/d/a"], "/d/c") == "/d/b"  # the chosen one was deleted


@pytest.mark.parametrize(
    "steps, every, fitted", [(8, 20, 4), (9, 20, 5), (1, 20, 1), (60, 20, 20), (None, 20, 20), (8, 0, 0)]
)
def test_a_short_run_evaluates_within_its_steps(steps, every, fitted):
    interval, note = fit_eval_interval(steps, every)
    assert interval == fitted
    assert bool(note) == (fitted != every)


def test_the_setup_panel_says_and_applies_the_adapted_interval(qtbot, context):
    panel = SetupPanel(context)
    qtbot.addWidget(panel)
    panel.show()
    panel.form.set_values({"max_steps": 8, "eval_steps": 20})
    panel._on_form()
    assert panel.eval_note.isVisible() and "every 4 steps" in panel.eval_note.text()
    _spec, _data, config = panel.request()
    assert config.max_steps == 8 and config.eval_steps == 4
    panel.shutdown(3000)
