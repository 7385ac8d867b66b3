"""One way a page starts, cancels and finishes long work (Orange3's ``ConcurrentWidgetMixin``).

A page owns one :class:`TaskRunner` per lane of work (the page's main task; a background lane such
as statistics or a cost estimate gets its own). ``runner.start(fn, *args, on_done=..., **kwargs)``
runs ``fn(*args, state=..., **kwargs)`` through :func:`~ift_desktop.ui.workers.run_in_thread` and
keeps the page's side of it in one place:

- the page's progress line starts, follows the task's progress and finishes; its Cancel button
  cancels the task;
- ``busy_changed(bool)`` tells the page to enable or disable its buttons;
- a failure shows in the page's inline message (a ``UserError`` as its one-line text, anything
  else as a short note while the error dialog has the traceback); a cancel shows ``cancelled_text``;
- starting a task while one runs cancels the older one and makes it *outdated*: its result,
  failure, cancel and progress are dropped, so a late answer never overwrites a newer one.

Every callback runs on the UI thread. The worker's signals are connected to this object's own
bound methods (never to closures), so when the page and its runner are deleted, Qt disconnects
them and a task that ends later touches no deleted widget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from ift_desktop.ui.widgets.messages import InlineMessage
from ift_desktop.ui.widgets.task_progress import TaskProgress
from ift_desktop.ui.workers import TaskHandle, run_in_thread

log = logging.getLogger(__name__)


class _Callbacks:
    __slots__ = ("on_done", "on_failed", "on_cancelled", "on_partial", "on_progress")

    def __init__(self, on_done, on_failed, on_cancelled, on_partial, on_progress):
        self.on_done = on_done
        self.on_failed = on_failed
        self.on_cancelled = on_cancelled
        self.on_partial = on_partial
        self.on_progress = on_progress


class TaskRunner(QObject):
    """Runs one task at a time for its owner; see the module docstring."""

    busy_changed = Signal(bool)

    def __init__(
        self,
        owner: QObject,
        *,
        progress=None,
        message=None,
        cancelled_text: str = "Cancelled.",
        clears_message: bool = True,
        doing: str = "",
        detached: bool = False,
    ):
        """``progress``: a :class:`TaskProgress` (or None); ``message``: an :class:`InlineMessage`
        (or None: failures then reach only ``on_failed``), cleared when a task starts unless
        ``clears_message`` is False (a page that rescores as the user types keeps its note); ``doing``
        names the work in the note of an unexpected failure ("while exporting"). ``detached``: the task's thread is not a
        child of the owner, for short reads that may harmlessly outlive a closed page."""
        super().__init__(owner)
        self._progress = progress
        self._message = message
        self._cancelled_text = cancelled_text
        self._clears_message = clears_message
        self._doing = doing
        self._detached = detached
        self._callbacks: dict[QObject, _Callbacks] = {}  # keyed by the handle's signals object
        self.task: TaskHandle | None = None
        if progress is not None:
            progress.cancel_requested.connect(self.cancel)

    # starting and stopping ------------------------------------------------------------------------
    def start(
        self,
        fn: Callable[..., Any],
        *args,
        on_done: Callable[[Any], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
        on_progress: Callable[[float | None, str], None] | None = None,
        progress_text: str = "",
        **kwargs,
    ) -> TaskHandle:
        """Start ``fn(*args, state=..., **kwargs)``; a running task is cancelled and outdated.

        ``on_done(result)`` on success; ``on_failed(text)`` with the one-line text shown;
        ``on_partial(obj)`` for each ``state.partial(obj)``; ``on_progress(fraction, text)`` for each
        report (besides the progress line, which ``progress_text`` opens)."""
        was_busy = self.task is not None
        if was_busy:
            self.task.cancel()
        if self._message is not None and self._clears_message:
            self._message.clear()
        handle = run_in_thread(None if self._detached else self, fn, *args, **kwargs)
        self.task = handle
        signals = handle.worker
        self._callbacks[signals] = _Callbacks(on_done, on_failed, on_cancelled, on_partial, on_progress)
        signals.progress.connect(self._on_progress)
        signals.partial.connect(self._on_partial)
        signals.finished.connect(self._on_finished)
        signals.failed.connect(self._on_failed)
        signals.cancelled.connect(self._on_cancelled)
        signals.done.connect(self._on_done)
        if self._progress is not None:
            self._progress.start(progress_text)
        if not was_busy:
            self.busy_changed.emit(True)
        return handle

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def is_busy(self) -> bool:
        return self.task is not None

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel the running task and wait for its thread (window closing and tests only)."""
        task = self.task
        if task is not None and task.is_running():
            task.cancel()
            task.wait(timeout_ms)

    # the worker's signals, on the UI thread ------------------------------------------------------
    def _current(self) -> _Callbacks | None:
        """The callbacks of the task that sent this signal, or None when that task is outdated."""
        signals = self.sender()
        if self.task is None or signals is not self.task.worker:
            return None
        return self._callbacks.get(signals)

    @Slot(object, str)
    def _on_progress(self, fraction, text: str) -> None:
        callbacks = self._current()
        if callbacks is None:
            return
        if self._progress is not None:
            self._progress.update_progress(fraction, text)
        if callbacks.on_progress is not None:
            callbacks.on_progress(fraction, text)

    @Slot(object)
    def _on_partial(self, obj) -> None:
        callbacks = self._current()
        if callbacks is not None and callbacks.on_partial is not None:
            callbacks.on_partial(obj)

    @Slot(object)
    def _on_finished(self, result) -> None:
        callbacks = self._current()
        if callbacks is not None and callbacks.on_done is not None:
            callbacks.on_done(result)

    @Slot(str, str, bool)
    def _on_failed(self, text: str, details: str, is_user_error: bool) -> None:
        callbacks = self._current()
        if callbacks is None:
            return
        if not is_user_error:
            log.error("Unexpected error in a task of %s: %s\n%s", type(self.parent()).__name__, text, details)
        if self._message is not None:
            text = self._message.show_failure(text, is_user_error, doing=self._doing)
        if callbacks.on_failed is not None:
            callbacks.on_failed(text)

    @Slot()
    def _on_cancelled(self) -> None:
        callbacks = self._current()
        if callbacks is None:
            return
        if self._message is not None and self._cancelled_text:
            self._message.show_info(self._cancelled_text)
        if callbacks.on_cancelled is not None:
            callbacks.on_cancelled()

    @Slot()
    def _on_done(self) -> None:
        signals = self.sender()
        self._callbacks.pop(signals, None)
        if self.task is None or signals is not self.task.worker:
            return  # an outdated task ended; the current one keeps the page busy
        self.task = None
        if self._progress is not None:
            self._progress.finish()
        self.busy_changed.emit(False)


def runner_with_feedback(owner: QObject, **options) -> tuple[InlineMessage, TaskProgress, TaskRunner]:
    """A page's main lane of work: a new inline message and progress line, and a :class:`TaskRunner`
    that reports through both (``options`` as the runner takes them: ``doing``, ``cancelled_text``...)."""
    message = InlineMessage()
    progress = TaskProgress()
    return message, progress, TaskRunner(owner, progress=progress, message=message, **options)
