"""Run core functions off the UI thread (the Orange3 / Spyder worker pattern).

``run_in_thread(owner, fn, *args, **kwargs)`` calls ``fn(*args, state=state, **kwargs)`` in a
``QThread``. The core reports through the Qt-free :class:`~ift_desktop.core.progress.TaskState`;
this module turns those callbacks into Qt signals delivered on the UI thread. Every exception is
caught in the thread and handed over as ``failed`` (a QThread's exceptions never reach the main
thread otherwise). Cancel sets a ``threading.Event`` that the core polls; it never relies on the
worker's own event loop, which is blocked while the work runs.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ift_desktop.core.errors import Cancelled, UserError
from ift_desktop.core.progress import TaskState


class Worker(QObject):
    """Runs one function once. Signals arrive on the thread that owns the receiving objects."""

    progress = Signal(object, str)  # fraction (float or None), message
    partial = Signal(object)  # a partial result, e.g. a training event
    finished = Signal(object)  # the return value
    failed = Signal(str, str, bool)  # message, details (traceback), is_user_error
    cancelled = Signal()
    done = Signal()  # always last, whatever the outcome

    def __init__(self, fn: Callable[..., Any], *args, **kwargs):
        super().__init__()
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self.cancel_event = threading.Event()
        self.state = TaskState(
            on_progress=lambda fraction, message: self.progress.emit(fraction, message),
            cancel_event=self.cancel_event,
            on_partial=lambda obj: self.partial.emit(obj),
        )

    @Slot()
    def run(self) -> None:
        try:
            result = self._fn(*self._args, state=self.state, **self._kwargs)
        except Cancelled:
            self.cancelled.emit()
        except UserError as exc:
            self.failed.emit(exc.one_line(), "", True)
        except BaseException as exc:  # noqa: BLE001 - everything must reach the UI
            details = "".join(traceback.format_exception(exc))
            self.failed.emit(f"{type(exc).__name__}: {exc}", details, False)
            if unexpected_error_handler is not None:
                unexpected_error_handler(exc)
        else:
            if self.cancel_event.is_set():
                self.cancelled.emit()
            else:
                self.finished.emit(result)
        finally:
            self.done.emit()

    def cancel(self) -> None:
        self.cancel_event.set()


class WorkerSignals(QObject):
    """The worker's signals, re-emitted on the thread that started the work (the UI thread).

    Connect pages to these, never to the :class:`Worker` itself: a lambda connected straight to a
    signal of an object living in the worker thread runs *in the worker thread*, and touching a
    widget from there crashes Qt. The hop from Worker to WorkerSignals is a queued connection, so
    everything connected here (bound methods and lambdas alike) runs on the UI thread, in order.
    """

    progress = Signal(object, str)
    partial = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str, bool)
    cancelled = Signal()
    done = Signal()

    def __init__(self, worker: Worker, parent: QObject | None = None):
        super().__init__(parent)
        self._worker = worker
        for name in ("progress", "partial", "finished", "failed", "cancelled", "done"):
            getattr(worker, name).connect(getattr(self, name), Qt.QueuedConnection)

    @property
    def state(self) -> TaskState:
        return self._worker.state

    @property
    def cancel_event(self) -> threading.Event:
        return self._worker.cancel_event

    def cancel(self) -> None:
        self._worker.cancel()


class TaskHandle(QObject):
    """A running worker plus its thread; keeps both alive until the work is done.

    ``handle.worker`` holds the signals to connect to (delivered on the UI thread).
    """

    def __init__(self, worker: Worker, thread: QThread, parent: QObject | None = None):
        super().__init__(parent)
        self._worker = worker
        self.worker = WorkerSignals(worker, self)
        self.thread = thread

    def cancel(self) -> None:
        self._worker.cancel()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Wait for the thread to end (only at shutdown or in tests; never in a slot)."""
        return self.thread.wait(timeout_ms)


_live: set[TaskHandle] = set()

# Set by ErrorReporter.install(): unexpected (non-UserError) failures in workers also reach the
# one error dialog, with their traceback, while the page shows its own short inline note.
unexpected_error_handler: Callable[[BaseException], None] | None = None


def run_in_thread(owner: QObject | None, fn: Callable[..., Any], *args, **kwargs) -> TaskHandle:
    """Start ``fn(*args, state=..., **kwargs)`` in a new QThread and return its handle.

    Connect to ``handle.worker.progress/partial/finished/failed/cancelled/done`` right after
    this call returns; the thread starts with a queued call so nothing is missed.
    """
    thread = QThread()
    worker = Worker(fn, *args, **kwargs)
    worker.moveToThread(thread)
    handle = TaskHandle(worker, thread, owner)
    thread.started.connect(worker.run)
    # quit straight from the worker thread (QThread.quit is thread-safe), so shutting down never
    # depends on the UI thread processing a queued call while it waits for the thread
    worker.done.connect(thread.quit, Qt.DirectConnection)
    thread.finished.connect(lambda: _live.discard(handle))
    _live.add(handle)
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, thread.start)
    return handle


def live_tasks() -> list[TaskHandle]:
    return [handle for handle in _live if handle.is_running()]


def shutdown_all(timeout_ms: int = 10000) -> None:
    """Cancel every running task and wait for its thread (the app calls this on quit)."""
    handles = live_tasks()
    for handle in handles:
        handle.cancel()
    for handle in handles:
        handle.wait(timeout_ms)
