"""The frame every wizard step shares: a heading, an inline message, a progress line, a body.

A step reads what earlier steps decided from the shared :class:`~.state.WizardState` when it is
entered (``enter``), and writes its own decisions back when the user presses Next
(``commit`` returns ``False`` and shows an inline message when something is missing or wrong).
``run_task`` starts long work in a worker thread with progress and Cancel, and turns an expected
failure (:class:`UserError`) into an inline message in the step — never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ift_desktop.core.errors import UserError
from ift_desktop.ui.widgets.messages import InlineMessage
from ift_desktop.ui.widgets.task_progress import TaskProgress
from ift_desktop.ui.workers import TaskHandle, run_in_thread

from .state import WizardState

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Receives a worker's signals on the UI thread and calls the step's plain callbacks.

    A signal connected to a plain function runs it in the emitting (worker) thread; connected to
    a slot of an object living on the UI thread, it is queued there. Widgets are touched only here.
    """

    def __init__(self, parent):
        super().__init__(parent)
        self.callbacks: dict[str, Callable] = {}

    @Slot(object, str)
    def on_progress(self, fraction, message):
        self.callbacks["progress"](fraction, message)

    @Slot(object)
    def on_finished(self, result):
        self.callbacks["finished"](result)

    @Slot(str, str, bool)
    def on_failed(self, message, details, is_user_error):
        self.callbacks["failed"](message, details, is_user_error)

    @Slot()
    def on_cancelled(self):
        self.callbacks["cancelled"]()

    @Slot()
    def on_done(self):
        self.callbacks["done"]()


class WizardStep(QWidget):
    title = ""
    subtitle = ""

    busy_changed = Signal(bool)
    advance_requested = Signal()  # work started by Next has finished: move on

    def __init__(self, state: WizardState, context, parent=None):
        super().__init__(parent)
        self.state = state
        self.context = context
        self.task: TaskHandle | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(8)
        heading = QLabel(self.title)
        heading.setObjectName("SectionTitle")
        heading.setStyleSheet("font-size: 14pt;")
        outer.addWidget(heading)
        if self.subtitle:
            sub = QLabel(self.subtitle)
            sub.setWordWrap(True)
            sub.setObjectName("Hint")
            outer.addWidget(sub)
        self.message = InlineMessage()
        self.progress = TaskProgress()
        self.progress.keep_place()  # appearing, it does not push the page down
        self.progress.cancel_requested.connect(self.cancel_task)
        outer.addWidget(self.message)
        outer.addWidget(self.progress)
        self.body = QVBoxLayout()
        self.body.setSpacing(8)
        outer.addLayout(self.body, 1)

    # the wizard calls these ---------------------------------------------------------------------
    def enter(self) -> None:
        """The step is shown: refresh from what earlier steps decided."""

    def commit(self) -> bool:
        """Next was pressed: validate, write decisions to the state; False keeps the user here."""
        return True

    def is_busy(self) -> bool:
        return self.task is not None

    # long work ---------------------------------------------------------------------------------
    def run_task(
        self,
        message: str,
        fn: Callable[..., Any],
        *args,
        on_result: Callable[[Any], None],
        on_cancelled: Callable[[], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
        **kwargs,
    ) -> TaskHandle:
        """Run ``fn(*args, state=..., **kwargs)`` in a worker; one task per step at a time."""
        self.cancel_task()
        self.message.clear()
        handle = run_in_thread(self, fn, *args, **kwargs)
        self.task = handle
        relay = _Relay(self)  # lives on the UI thread, so the worker's signals are queued to it
        handle.relay = relay
        worker = handle.worker
        self.progress.start(message)

        def finished(result):
            if self.task is handle:
                on_result(result)

        def failed(text: str, details: str, is_user_error: bool):
            if self.task is not handle:
                return
            if not is_user_error:
                log.error("Unexpected error in %s: %s\n%s", type(self).__name__, text, details)
            text = self.message.show_failure(text, is_user_error)
            if on_failed is not None:
                on_failed(text)

        def cancelled():
            if self.task is handle:
                self.message.show_info("Cancelled. Nothing was changed.")
                if on_cancelled is not None:
                    on_cancelled()

        def done():
            relay.deleteLater()
            if self.task is handle:
                self.task = None
                self.progress.finish()
                self.busy_changed.emit(False)

        def progress(fraction, text):
            if self.task is handle:
                self.progress.update_progress(fraction, text)

        relay.callbacks = {"progress": progress, "finished": finished, "failed": failed,
                           "cancelled": cancelled, "done": done}
        worker.progress.connect(relay.on_progress)
        worker.finished.connect(relay.on_finished)
        worker.failed.connect(relay.on_failed)
        worker.cancelled.connect(relay.on_cancelled)
        worker.done.connect(relay.on_done)
        self.busy_changed.emit(True)
        return handle

    def cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()

    # helpers -----------------------------------------------------------------------------------
    def fail(self, error: UserError | str) -> bool:
        """Show an expected failure inline and keep the user on this step."""
        text = error.one_line() if isinstance(error, UserError) else str(error)
        self.message.show_error(text)
        return False


def hint_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setObjectName("Hint")
    return label


def section_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-weight: 600; margin-top: 4px; color: #1f2a37;")
    label.setTextInteractionFlags(Qt.NoTextInteraction)
    return label
