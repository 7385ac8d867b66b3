"""Workers run core functions off the UI thread and report every outcome as a signal."""

import threading
import time

from ift_desktop.core.errors import DataError
from ift_desktop.ui.workers import run_in_thread


def _count(n, state=None):
    for i in range(n):
        state.check_cancelled()
        state.report((i + 1) / n, f"item {i + 1}")
        time.sleep(0.01)
    return threading.current_thread().name


def test_result_progress_and_thread(qtbot):
    handle = run_in_thread(None, _count, 20)
    progress = []
    handle.worker.progress.connect(lambda f, m: progress.append(f))
    with qtbot.waitSignal(handle.worker.finished, timeout=5000) as blocker:
        pass
    assert blocker.args[0] != threading.current_thread().name
    assert progress and progress[-1] == 1.0
    assert handle.wait(2000)


def test_cancel_is_reported_as_cancelled(qtbot):
    handle = run_in_thread(None, _count, 10_000)
    with qtbot.waitSignal(handle.worker.cancelled, timeout=5000):
        qtbot.wait(50)
        handle.cancel()
    assert handle.wait(2000)


def _fail_user(state=None):
    raise DataError("Column 'dialog' not found in train.csv; columns are: id, dialogue.")


def _fail_bug(state=None):
    return {}["missing"]


def test_user_errors_and_bugs_are_told_apart(qtbot):
    handle = run_in_thread(None, _fail_user)
    with qtbot.waitSignal(handle.worker.failed, timeout=5000) as blocker:
        pass
    assert blocker.args[0].startswith("Column 'dialog' not found") and blocker.args[2] is True
    handle = run_in_thread(None, _fail_bug)
    with qtbot.waitSignal(handle.worker.failed, timeout=5000) as blocker:
        pass
    assert "KeyError" in blocker.args[0] and "Traceback" in blocker.args[1] and blocker.args[2] is False


def test_lambdas_connected_to_a_handle_run_on_the_ui_thread(qtbot):
    ui_thread = threading.current_thread()
    seen = []
    handle = run_in_thread(None, _count, 5)
    handle.worker.progress.connect(lambda *_: seen.append(threading.current_thread()))
    handle.worker.finished.connect(lambda _r: seen.append(threading.current_thread()))
    with qtbot.waitSignal(handle.worker.done, timeout=5000):
        pass
    assert seen and all(t is ui_thread for t in seen)
    assert handle.wait(2000)


def test_the_thread_ends_even_while_the_ui_thread_waits(qtbot):
    handle = run_in_thread(None, _count, 3)
    qtbot.waitUntil(handle.is_running, timeout=2000)
    assert handle.wait(5000)  # blocking the UI thread must not stop the worker thread from quitting


def test_an_unexpected_worker_failure_reaches_the_one_error_window(qtbot):
    import sys

    from ift_desktop.ui import workers
    from ift_desktop.ui.error_dialog import ErrorReporter

    reporter = ErrorReporter(None)
    old = threading.excepthook, sys.excepthook
    reporter.install()
    try:
        handle = run_in_thread(None, _fail_bug)
        with qtbot.waitSignal(handle.worker.done, timeout=5000):
            pass
        qtbot.waitUntil(lambda: bool(reporter.shown), timeout=3000)
        handle = run_in_thread(None, _fail_user)  # an expected failure stays inline: no dialog
        with qtbot.waitSignal(handle.worker.done, timeout=5000):
            pass
        qtbot.wait(100)
    finally:
        threading.excepthook, sys.excepthook = old
        workers.unexpected_error_handler = None
    assert reporter.shown == ["KeyError: 'missing'"]
