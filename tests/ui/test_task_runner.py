"""The one way pages run long work: busy state, progress, failures, cancel, outdated results dropped."""

import threading

from PySide6.QtWidgets import QWidget

from ift_desktop.core.errors import DataError
from ift_desktop.ui.task_runner import TaskRunner
from ift_desktop.ui.widgets.messages import InlineMessage
from ift_desktop.ui.widgets.task_progress import TaskProgress


def _page(qtbot):
    page = QWidget()
    qtbot.addWidget(page)
    page.message = InlineMessage(page)
    page.progress = TaskProgress(page)
    page.runner = TaskRunner(
        page, progress=page.progress, message=page.message, cancelled_text="Stopped; nothing kept."
    )
    return page


def _wait_until(release: threading.Event, answer, state=None):
    """Blocks until released, then answers (the test decides which task finishes first)."""
    release.wait(10)
    return answer


def _until_cancelled(started: threading.Event, state=None):
    started.set()
    while True:
        state.check_cancelled()
        state.report(None, "working")
        threading.Event().wait(0.01)


def _fails(state=None):
    raise DataError("Column 'dialog' not found in train.csv; columns are: id, dialogue. Pick the input column.")


def _bug(state=None):
    return {}["missing"]


def test_the_result_reaches_on_done_and_busy_goes_up_then_down(qtbot):
    page = _page(qtbot)
    busy, results = [], []
    page.runner.busy_changed.connect(busy.append)
    release = threading.Event()
    release.set()
    page.runner.start(_wait_until, release, 42, on_done=results.append, progress_text="Counting")
    assert page.runner.is_busy() and page.progress.isVisibleTo(page)
    qtbot.waitUntil(lambda: not page.runner.is_busy(), timeout=5000)
    assert results == [42] and busy == [True, False]
    assert not page.progress.isVisibleTo(page)


def test_an_outdated_tasks_result_is_ignored(qtbot):
    page = _page(qtbot)
    results, busy = [], []
    page.runner.busy_changed.connect(busy.append)
    old_release, new_release = threading.Event(), threading.Event()
    old = page.runner.start(_wait_until, old_release, "old", on_done=results.append)
    new = page.runner.start(_wait_until, new_release, "new", on_done=results.append)
    assert old.worker.cancel_event.is_set()  # the older task was asked to stop
    new_release.set()
    qtbot.waitUntil(lambda: results == ["new"], timeout=5000)
    assert not page.runner.is_busy()
    old_release.set()  # the older task answers last, after the newer one has been shown
    with qtbot.waitSignal(old.worker.done, timeout=5000):
        pass
    qtbot.wait(50)
    assert results == ["new"] and busy == [True, False]
    assert new.wait(2000) and old.wait(2000)


def test_cancel_reaches_the_task_and_shows_the_cancelled_text(qtbot):
    page = _page(qtbot)
    started, cancelled = threading.Event(), []
    handle = page.runner.start(
        _until_cancelled, started, on_cancelled=lambda: cancelled.append(True), progress_text="Working"
    )
    qtbot.waitUntil(started.is_set, timeout=5000)
    page.progress.cancel_requested.emit()  # the progress line's Cancel button
    qtbot.waitUntil(lambda: not page.runner.is_busy(), timeout=5000)
    assert cancelled == [True]
    assert page.message.kind == "info" and page.message.text() == "Stopped; nothing kept."
    assert handle.wait(2000)


def test_a_failure_shows_the_user_error_text(qtbot):
    page = _page(qtbot)
    failures = []
    page.runner.start(_fails, on_failed=failures.append, on_done=lambda _r: failures.append("done?"))
    qtbot.waitUntil(lambda: not page.runner.is_busy(), timeout=5000)
    expected = "Column 'dialog' not found in train.csv; columns are: id, dialogue. Pick the input column."
    assert page.message.kind == "error" and page.message.text() == expected
    assert failures == [expected]


def test_an_unexpected_failure_is_a_short_note_not_a_traceback(qtbot):
    page = _page(qtbot)
    page.runner.start(_bug)
    qtbot.waitUntil(lambda: not page.runner.is_busy(), timeout=5000)
    assert page.message.kind == "error"
    assert "KeyError" in page.message.text() and "Traceback" not in page.message.text()


def test_a_task_ending_after_its_page_is_deleted_touches_nothing(qtbot):
    page = QWidget()
    message = InlineMessage(page)
    runner = TaskRunner(page, message=message, detached=True)
    release, results = threading.Event(), []
    handle = runner.start(_wait_until, release, "late", on_done=results.append)
    page.deleteLater()
    qtbot.wait(50)  # the page, its message and its runner are gone
    release.set()
    assert handle.wait(5000)
    qtbot.wait(50)
    assert results == []
