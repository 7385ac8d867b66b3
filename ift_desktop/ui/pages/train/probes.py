"""Probe prompts: a few prompts the user pins before a run, answered by the model at every
evaluation, so the page can show how the answers changed along the loss curve.

``ProbeEditor`` edits the pinned prompts (typed, or taken from the dataset's validation split so
they carry the dataset's template). ``ProbeHistory`` shows, for the chosen prompt, one row per
evaluation: step, validation loss at that step, and the answer; selecting a row asks the curves to
mark that step.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

MAX_PROBES = 5


def _one_line(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ProbeEditor(QWidget):
    """The pinned prompts. ``prompts()`` gives them in order."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._examples: list[str] = []
        self._next_example = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        note = QLabel(
            f"Pin up to {MAX_PROBES} prompts; the model answers them at every evaluation so you can watch the "
            "answers change."
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        self.list = QListWidget()
        self.list.setMaximumHeight(96)
        self.list.setToolTip("Pinned prompts (double-click one to edit it)")
        self.list.itemDoubleClicked.connect(self._edit)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("Type a prompt to pin…")
        self.text.setMaximumHeight(60)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Pin")
        self.add_button.setToolTip("Pin the prompt typed above")
        self.add_button.clicked.connect(self._add_typed)
        self.from_data_button = QPushButton("Pin one from the dataset")
        self.from_data_button.setToolTip("Pin the next prompt of the dataset's validation split, in its template")
        self.from_data_button.clicked.connect(self.add_from_dataset)
        self.remove_button = QPushButton("Unpin")
        self.remove_button.clicked.connect(self._remove)
        for button in (self.add_button, self.from_data_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addWidget(note)
        layout.addWidget(self.list)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        self._update_buttons()
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.text.textChanged.connect(self._update_buttons)

    def prompts(self) -> list[str]:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())]

    def set_prompts(self, prompts: list[str]) -> None:
        self.list.clear()
        for prompt in prompts[:MAX_PROBES]:
            self._append(prompt)
        self._changed()

    def set_examples(self, prompts: list[str]) -> None:
        """Prompts of the chosen dataset's validation split, for "Pin one from the dataset"."""
        self._examples = [p for p in prompts if p.strip()]
        self._next_example = 0
        self._update_buttons()

    def add_prompt(self, prompt: str) -> bool:
        prompt = prompt.strip("\n")
        if not prompt.strip() or self.list.count() >= MAX_PROBES or prompt in self.prompts():
            return False
        self._append(prompt)
        self._changed()
        return True

    def add_from_dataset(self) -> None:
        while self._next_example < len(self._examples):
            prompt = self._examples[self._next_example]
            self._next_example += 1
            if self.add_prompt(prompt):
                return

    def _append(self, prompt: str) -> None:
        item = QListWidgetItem(_one_line(prompt))
        item.setData(Qt.UserRole, prompt)
        item.setToolTip(prompt)
        self.list.addItem(item)

    def _add_typed(self) -> None:
        if self.add_prompt(self.text.toPlainText()):
            self.text.clear()

    def _edit(self, item: QListWidgetItem) -> None:
        self.text.setPlainText(item.data(Qt.UserRole))
        self.list.takeItem(self.list.row(item))
        self._changed()

    def _remove(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self._changed()

    def _changed(self) -> None:
        self._update_buttons()
        self.changed.emit()

    def _update_buttons(self) -> None:
        room = self.list.count() < MAX_PROBES
        self.add_button.setEnabled(room and bool(self.text.toPlainText().strip()))
        self.from_data_button.setEnabled(room and self._next_example < len(self._examples))
        self.remove_button.setEnabled(bool(self.list.selectedItems()))


class ProbeHistory(QWidget):
    """How each pinned prompt's answer changed: step → answer, one prompt at a time."""

    step_selected = Signal(object)  # the step of the chosen row, or None

    def __init__(self, parent=None):
        super().__init__(parent)
        self._answers: dict[str, list[tuple[int, str]]] = {}
        self._eval_loss: dict[int, float] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("Prompt:"))
        self.prompt = QComboBox()
        self.prompt.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.prompt.setMinimumContentsLength(20)
        self.prompt.currentIndexChanged.connect(self._show)
        top.addWidget(self.prompt, 1)
        layout.addLayout(top)
        self.prompt_text = QPlainTextEdit()
        self.prompt_text.setReadOnly(True)
        self.prompt_text.setStyleSheet("color: #444; background: #f4f4f4;")
        self.prompt_text.setMaximumHeight(58)
        layout.addWidget(self.prompt_text)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Step", "Val. loss", "Answer"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.Stretch)
        self.table.itemSelectionChanged.connect(self._on_row)
        layout.addWidget(self.table, 1)
        self.empty = QLabel("Pin prompts before starting; their answers appear here at every evaluation.")
        self.empty.setStyleSheet("color: #777;")
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)
        self.set_prompts([])

    def set_prompts(self, prompts: list[str]) -> None:
        """Start a new history for these prompts (keeps nothing from an earlier run)."""
        self._answers = {p: [] for p in prompts}
        self._eval_loss = {}
        self.prompt.blockSignals(True)
        self.prompt.clear()
        for prompt in prompts:
            self.prompt.addItem(_one_line(prompt, 70), prompt)
        self.prompt.blockSignals(False)
        self.empty.setVisible(not prompts)
        self._show()

    def add_eval(self, step: int, eval_loss: float) -> None:
        self._eval_loss[int(step)] = float(eval_loss)
        self._show()

    def add_answers(self, step: int, answers: list[dict]) -> None:
        for entry in answers:
            prompt, answer = entry.get("prompt", ""), entry.get("answer", "")
            history = self._answers.setdefault(prompt, [])
            if prompt and self.prompt.findData(prompt) < 0:
                self.prompt.addItem(_one_line(prompt, 70), prompt)
                self.empty.hide()
            history.append((int(step), str(answer)))
        self._show()

    def history(self, prompt: str) -> list[tuple[int, str]]:
        return list(self._answers.get(prompt, []))

    def _show(self) -> None:
        prompt = self.prompt.currentData()
        self.prompt_text.setPlainText(prompt or "")
        self.prompt_text.setVisible(bool(prompt))
        rows = self._answers.get(prompt, []) if prompt else []
        self.table.setRowCount(len(rows))
        for row, (step, answer) in enumerate(rows):
            loss = self._eval_loss.get(step)
            cells = (str(step), f"{loss:.3f}" if loss is not None else "", answer.strip() or "(empty answer)")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 2:
                    item.setToolTip(answer)
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()
        if rows:
            self.table.scrollToBottom()

    def _on_row(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.step_selected.emit(None)
            return
        item = self.table.item(rows[0].row(), 0)
        self.step_selected.emit(int(item.text()) if item else None)
