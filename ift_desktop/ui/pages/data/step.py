"""The frame every wizard step shares: a heading, an inline message, a progress line, a body.

A step reads what earlier steps decided from the shared :class:`~.state.WizardState` when it is
entered (``enter``), and writes its own decisions back when the user presses Next
(``commit`` returns ``False`` and shows an inline message when something is missing or wrong).
``self.runner`` (a :class:`~ift_desktop.ui.task_runner.TaskRunner`) starts long work in a worker
thread with progress and Cancel, and turns an expected failure (:class:`UserError`) into an inline
message in the step — never a traceback.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ift_desktop.core.errors import UserError
from ift_desktop.ui.task_runner import TaskRunner
from ift_desktop.ui.widgets.messages import InlineMessage
from ift_desktop.ui.widgets.task_progress import TaskProgress
from ift_desktop.ui.workers import TaskHandle

from .state import WizardState


class WizardStep(QWidget):
    title = ""
    subtitle = ""

    busy_changed = Signal(bool)
    advance_requested = Signal()  # work started by Next has finished: move on

    def __init__(self, state: WizardState, context, parent=None):
        super().__init__(parent)
        self.state = state
        self.context = context
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
        # one task per step at a time; a new one outdates the running one
        self.runner = TaskRunner(
            self, progress=self.progress, message=self.message, cancelled_text="Cancelled. Nothing was changed."
        )
        self.runner.busy_changed.connect(self.busy_changed)
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

    @property
    def task(self) -> TaskHandle | None:
        """The running task, or None."""
        return self.runner.task

    def is_busy(self) -> bool:
        return self.runner.is_busy()

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
