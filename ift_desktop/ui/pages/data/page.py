"""The Data page: a six-step wizard that turns a table into an instruction dataset.

The steps (source → columns/task → template → split & mixture → statistics → save) share one
:class:`WizardState`; the list at the left shows where the user is and lets them go back to any
step (or forward through steps already passed, each checked again). Back/Next at the bottom;
Next asks the current step to check and record its choices, and a step whose work runs in a
worker (preparing the examples) moves on by itself when that work is done.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .mapping_step import MappingStep
from .save_step import SaveStep
from .source_step import SourceStep
from .split_step import SplitStep
from .state import WizardState
from .stats_step import StatsStep
from .template_step import TemplateStep

STEP_NAMES = ("Source", "Columns and task", "Template", "Split and mixture", "Statistics", "Save")


class DataPage(QWidget):
    """The data wizard; the main window builds it as ``DataPage(context)``."""

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.state = WizardState()
        self.source_step = SourceStep(self.state, context)
        self.mapping_step = MappingStep(self.state, context)
        self.template_step = TemplateStep(self.state, context)
        self.split_step = SplitStep(self.state, context)
        self.stats_step = StatsStep(self.state, context)
        self.save_step = SaveStep(self.state, context)
        self.steps = [
            self.source_step,
            self.mapping_step,
            self.template_step,
            self.split_step,
            self.stats_step,
            self.save_step,
        ]
        self.current = 0
        self.reached = 0  # the furthest step the user got to

        outer = QHBoxLayout(self)
        outer.setContentsMargins(12, 16, 12, 12)
        outer.setSpacing(12)
        left = QVBoxLayout()
        title = QLabel("Data")
        title.setObjectName("PageTitle")
        left.addWidget(title)
        intro = QLabel("Turn a table into instruction examples for fine-tuning.")
        intro.setWordWrap(True)
        intro.setObjectName("Hint")
        left.addWidget(intro)
        self.step_list = QListWidget()
        self.step_list.setFixedWidth(186)
        self.step_list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.step_list.setTextElideMode(Qt.ElideRight)
        self.step_list.setFrameShape(QFrame.NoFrame)
        self.step_list.setStyleSheet(
            "QListWidget { background: transparent; font-size: 11pt; }"
            "QListWidget::item { padding: 7px 6px; border-radius: 4px; }"
            "QListWidget::item:selected { background: #dbe7f7; color: #0b3d73; font-weight: 600; }"
        )
        for number, name in enumerate(STEP_NAMES, start=1):
            self.step_list.addItem(QListWidgetItem(f"{number}  {name}"))
        self.step_list.currentRowChanged.connect(self._list_clicked)
        left.addWidget(self.step_list, 1)
        outer.addLayout(left)

        right = QVBoxLayout()
        self.stack = QStackedWidget()
        for step in self.steps:
            self.stack.addWidget(step)
            step.busy_changed.connect(self._update_buttons)
            step.advance_requested.connect(self._advance_from_step)
        right.addWidget(self.stack, 1)
        line = QFrame()
        line.setFrameShape(QFrame.HLine)
        line.setStyleSheet("color:#ddd;")
        right.addWidget(line)
        nav = QHBoxLayout()
        self.position = QLabel()
        self.position.setStyleSheet("color:#666;")
        nav.addWidget(self.position)
        nav.addStretch(1)
        self.back_button = QPushButton("← Back")
        self.next_button = QPushButton("Next →")
        self.next_button.setDefault(True)
        self.next_button.setObjectName("Primary")
        self.back_button.setMinimumWidth(100)
        self.next_button.setMinimumWidth(100)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        nav.addWidget(self.back_button)
        nav.addWidget(self.next_button)
        right.addLayout(nav)
        outer.addLayout(right, 1)
        self.source_step.source_changed.connect(self._source_changed)
        self._show(0)

    # navigation --------------------------------------------------------------------------------
    def _show(self, index: int) -> None:
        self.current = index
        self.reached = max(self.reached, index)
        self.stack.setCurrentIndex(index)
        self.step_list.blockSignals(True)
        self.step_list.setCurrentRow(index)
        self.step_list.blockSignals(False)
        for i in range(self.step_list.count()):
            item = self.step_list.item(i)
            enabled = i <= self.reached
            item.setFlags((Qt.ItemIsEnabled | Qt.ItemIsSelectable) if enabled else Qt.NoItemFlags)
            done = i < self.reached and i != index
            item.setText(f"✓ {STEP_NAMES[i]}" if done else f"{i + 1}  {STEP_NAMES[i]}")  # a tick instead of the number
            item.setToolTip(f"Step {i + 1}: {STEP_NAMES[i]}" + (" (done)" if done else ""))
        self.steps[index].enter()
        self._update_buttons()

    def _update_buttons(self, *_args) -> None:
        last = self.current == len(self.steps) - 1
        self.back_button.setEnabled(self.current > 0)
        self.next_button.setVisible(not last)
        busy = " · working…" if self.steps[self.current].is_busy() else ""
        self.position.setText(f"Step {self.current + 1} of {len(self.steps)}{busy}")

    def next(self) -> bool:
        """Check the current step and move on; False when the step keeps the user (it says why)."""
        if self.current >= len(self.steps) - 1:
            return False
        if not self.steps[self.current].commit():
            return False
        self._show(self.current + 1)
        return True

    def _advance_from_step(self) -> None:
        step = self.sender()
        if step is self.steps[self.current]:
            self.next()

    def back(self) -> None:
        if self.current > 0:
            self._show(self.current - 1)

    def go_to(self, index: int) -> bool:
        """Jump to ``index``: back at once, forward only through steps that check out."""
        if index <= self.current:
            self._show(index)
            return True
        while self.current < index:
            if not self.next():
                return False
        return True

    def on_shown(self) -> None:
        """The first time the page is shown with the built-in sample chosen and nothing loaded yet,
        load it, so a newcomer sees real rows at once instead of an empty preview."""
        if getattr(self, "_auto_loaded", False):
            return
        self._auto_loaded = True
        source = self.source_step
        if self.current == 0 and source._loaded_key is None and source.sample_radio.isChecked():
            source.load()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """The window closes: cancel any running work and wait for its thread (bounded)."""
        for step in self.steps:
            step.runner.cancel()
        for step in self.steps:
            step.runner.shutdown(timeout_ms)

    def _list_clicked(self, row: int) -> None:
        if row < 0 or row == self.current:
            return
        if not self.go_to(row):
            self._show(self.current)
        # the list's own click handling selects the clicked row after this slot returns: highlight
        # the step that is really shown once it is done
        QTimer.singleShot(0, self._sync_list)

    def _sync_list(self) -> None:
        self.step_list.blockSignals(True)
        self.step_list.setCurrentRow(self.current)
        self.step_list.blockSignals(False)

    def _source_changed(self) -> None:
        """A new source (or none, after a failed load): what later steps decided or said no longer holds."""
        self.reached = self.current
        for step in self.steps[1:]:
            step.message.clear()
        self._show(self.current)
