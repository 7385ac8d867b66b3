"""The app shell: pages in a sidebar, window state kept, device in the status bar, one error dialog."""

import threading

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ift_desktop.ui.context import AppContext
from ift_desktop.ui.error_dialog import ErrorDialog, ErrorReporter
from ift_desktop.ui.main_window import PAGES, MainWindow


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(AppContext(settings=settings))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def test_every_page_is_reachable(window):
    assert [window.sidebar.item(i).data(256) for i in range(window.sidebar.count())] == [p[0] for p in PAGES]
    for key, *_ in PAGES:
        window.context.navigate.emit(key)
        assert window.current_page_key() == key
        assert window.stack.currentWidget() is window.pages[key]


def test_window_state_survives_a_restart(qtbot, settings):
    first = MainWindow(AppContext(settings=settings))
    qtbot.addWidget(first)
    first.show_page("evaluate")
    first.close()
    second = MainWindow(AppContext(settings=settings))
    qtbot.addWidget(second)
    assert second.current_page_key() == "evaluate"


def test_status_bar_names_the_device(qtbot, window):
    qtbot.waitUntil(lambda: "checking" not in window.device_status.text(), timeout=20000)
    assert window.device_status.text().startswith("Device: ")
    assert (
        "CPU" in window.device_status.text()
        or "GPU" in window.device_status.text()
        or "cuda" in window.device_status.text().lower()
    )


def test_an_exception_in_a_thread_reaches_one_dialog(qtbot, window):
    import sys

    from ift_desktop.ui import workers

    reporter = ErrorReporter(window)
    old_hook, old_sys_hook = threading.excepthook, sys.excepthook
    reporter.install()
    try:
        thread = threading.Thread(target=lambda: 1 / 0)
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: bool(reporter.shown), timeout=3000)
    finally:
        threading.excepthook, sys.excepthook = old_hook, old_sys_hook
        workers.unexpected_error_handler = None
    assert reporter.shown == ["ZeroDivisionError: division by zero"]
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, ErrorDialog) and w.isVisible()]
    assert dialogs
    dialog = dialogs[-1]
    assert not dialog.details.isVisible()  # details folded
    dialog.copy_diagnostics()
    copied = QApplication.clipboard().text()
    assert "ZeroDivisionError" in copied and "torch" in copied
    dialog.close()


def test_help_has_getting_started_with_the_five_pages_in_order(qtbot, window):
    from ift_desktop.ui.getting_started import getting_started_html

    actions = [a.text() for top in window.menuBar().actions() if top.menu() for a in top.menu().actions()]
    assert "&Getting started" in actions
    html = getting_started_html()
    positions = [html.index(f"<b>{name}</b>") for name in ("Data", "Playground", "Train", "Evaluate", "Runs")]
    assert positions == sorted(positions)
    assert "minutes" in html and "seconds" in html
