"""Every page fits a 1024×700 window, and nothing the pages show later makes the window wider."""

import pytest
from PySide6.QtCore import QSettings
from test_evaluate_page import BASE, TUNED, evaluation_json

from ift_desktop.core.atomic import atomic_write_json
from ift_desktop.core.data.prepare import PrepareConfig, prepare
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.main_window import PAGES, MainWindow

WIDTH, HEIGHT = 1024, 700
LONG = (
    "Training SmolLM2-135M-Instruct (built-in) with LoRA (4,884,480 of 139,399,488 weights trainable) on CPU "
    "(2 cores), bf16 autocast, batch 4 × 2 accumulation, max length 512, validation every 20 steps, "
    "checkpoints kept in /home/someone/IFT Desktop/runs/a-rather-long-run-name-2026-12-02-0130"
)


@pytest.fixture
def window(qtbot, tmp_path):
    context = AppContext(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    prepare(PrepareConfig(source="sample"), context.workspace.datasets_dir / "sample")
    folder = context.workspace.evaluations_dir
    atomic_write_json(folder / "seed-base.json", evaluation_json(BASE, role="base", partner="seed-tuned"))
    atomic_write_json(
        folder / "seed-tuned.json", evaluation_json(TUNED, role="tuned", partner="seed-base", run="/runs/seed")
    )
    win = MainWindow(context)
    qtbot.addWidget(win)
    win.resize(WIDTH, HEIGHT)
    win.show()
    yield win
    win.close()


def assert_fits(win, where: str) -> None:
    minimum = win.minimumSizeHint()
    assert minimum.width() <= WIDTH, f"{where}: the window needs {minimum.width()} px of width"
    assert minimum.height() <= HEIGHT, f"{where}: the window needs {minimum.height()} px of height"
    assert win.width() <= WIDTH, f"{where}: the window grew to {win.width()} px"


def test_every_page_fits_1024_by_700(qtbot, window):
    for key, *_ in PAGES:
        window.show_page(key)
        qtbot.wait(50)
        assert_fits(window, f"page {key}")


def test_every_wizard_step_fits(qtbot, window):
    data = window.pages["data"]
    window.show_page("data")
    for index in range(len(data.steps)):
        data.stack.setCurrentIndex(index)
        qtbot.wait(20)
        assert_fits(window, f"wizard step {index + 1}")


def test_evaluate_page_with_results_open_fits(qtbot, window):
    window.show_page("evaluate")
    page = window.pages["evaluate"]
    folder = window.context.workspace.evaluations_dir
    page.open_evaluations(folder / "seed-base.json", folder / "seed-tuned.json")
    qtbot.waitUntil(lambda: page.comparison is not None and not page.is_busy(), timeout=10000)
    for tab in range(page.tabs.count()):
        page.tabs.setCurrentIndex(tab)
        page.examples.table.selectRow(0) if hasattr(page.examples, "table") else None
        qtbot.wait(50)
        assert_fits(window, f"evaluate tab {page.tabs.tabText(tab)}")


@pytest.mark.parametrize("page_key", ["train", "data", "evaluate", "playground", "runs"])
def test_a_long_status_text_does_not_widen_the_window(qtbot, window, page_key):
    window.show_page(page_key)
    page = window.pages[page_key]
    if page_key == "train":
        page._on_status({"type": "status", "status": "started", "message": LONG})
        page.message.show_error(LONG)
        page.hint.show_message("warning", LONG)
        page.after_label.setText(LONG)
        page.after_run.show()
        page.probe_history.add_answers(8, [{"prompt": "Summarize: a long dialogue", "answer": LONG}])
    elif page_key == "data":
        step = page.steps[page.current]
        step.message.show_error(LONG)
        step.progress.start(LONG)
    else:
        page.message.show_error(LONG)
        page.progress.start(LONG)
    qtbot.wait(50)
    assert_fits(window, f"{page_key} with a long status text")
