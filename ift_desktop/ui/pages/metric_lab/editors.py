"""The lab's text boxes: one or more references (add / remove) and the candidate.

:class:`TextsEditor` emits ``texts_changed`` on every edit; the page debounces it. The references sit
in a scroll area, so three or four of them fit beside the scores at 1024×700. With several
references, each shows beside it what the candidate scores against that reference alone
(:meth:`TextsEditor.show_alone`), the best one starred.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.evaluation.metric_lab import ALONE_METRICS, LabScores, alone_score
from ift_desktop.core.evaluation.report import METRIC_LABELS, format_score

MAX_REFERENCES = 8
_BOX_STYLE = "QPlainTextEdit { font-size: 11pt; background: #ffffff; }"


def _text_box(hint: str, lines: int) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setPlaceholderText(hint)
    box.setTabChangesFocus(True)
    box.setStyleSheet(_BOX_STYLE)
    height = box.fontMetrics().lineSpacing() * lines + 12
    box.setMinimumHeight(height)
    box.setMaximumHeight(height + box.fontMetrics().lineSpacing() * 3)
    return box


class _ReferenceRow(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setFixedWidth(18)
        self.label.setStyleSheet("color: #667085; font-weight: 600;")
        self.box = _text_box("A reference: what a good answer says", 2)
        self.alone = QLabel()
        self.alone.setTextFormat(Qt.RichText)
        self.alone.setFixedWidth(self.alone.fontMetrics().horizontalAdvance("★ ROUGE-L 0.000") + 22)
        self.alone.setStyleSheet("color: #475467; font-size: 9pt;")
        self.alone.setToolTip("What the candidate scores with only this reference; ★ = the best reference")
        self.alone.hide()
        self.remove = QToolButton()
        self.remove.setText("✕")
        self.remove.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.label)
        layout.addWidget(self.box, 1)
        layout.addWidget(self.alone)
        layout.addWidget(self.remove)


class TextsEditor(QWidget):
    """References above, the candidate below; ``texts_changed`` on any edit, add or removal."""

    texts_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[_ReferenceRow] = []
        title = QLabel("References")
        title.setObjectName("SectionTitle")
        title.setToolTip("What good answers say. With several, ROUGE keeps the best-matching one and BLEU uses all")
        self.add_button = QPushButton("+ Add reference")
        self.add_button.setToolTip("Another way to say the right answer")
        self.add_button.clicked.connect(lambda: self._add_reference("", focus=True))
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.add_button)

        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 4, 0)
        self._list_layout.setSpacing(4)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(self._list)
        self.scroll = scroll

        candidate_title = QLabel("Candidate")
        candidate_title.setObjectName("SectionTitle")
        candidate_title.setToolTip("The text being scored, e.g. a model's prediction")
        self.candidate = _text_box("The candidate: the answer to score, e.g. a model's prediction", 2)
        self.candidate.textChanged.connect(self.texts_changed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(scroll, 1)
        layout.addWidget(candidate_title)
        layout.addWidget(self.candidate)
        self._add_reference("")

    # api ----------------------------------------------------------------------------------------
    def references(self) -> list[str]:
        return [row.box.toPlainText() for row in self._rows]

    def candidate_text(self) -> str:
        return self.candidate.toPlainText()

    def reference_box(self, index: int) -> QPlainTextEdit:
        return self._rows[index].box

    def set_texts(self, candidate: str, references: list[str]) -> None:
        """Replace every text (one ``texts_changed`` at the end)."""
        references = list(references)[:MAX_REFERENCES] or [""]
        self.blockSignals(True)
        try:
            while len(self._rows) > len(references):
                self._drop(self._rows[-1])
            while len(self._rows) < len(references):
                self._add_reference("")
            for row, text in zip(self._rows, references):
                row.box.setPlainText(text)
            self.candidate.setPlainText(candidate)
        finally:
            self.blockSignals(False)
        self.texts_changed.emit()

    def remove_reference(self, index: int) -> None:
        if len(self._rows) > 1:
            self._drop(self._rows[index])
            self.texts_changed.emit()

    def show_alone(self, scores: LabScores | None) -> None:
        """Beside each reference, the candidate's scores against it alone (hidden with one reference)."""
        alone = scores.per_reference if scores is not None else ()
        if len(alone) != len(self._rows):
            alone = ()
        best = scores.best_alone() if alone else {}
        for index, row in enumerate(self._rows):
            row.alone.setVisible(bool(alone))
            if alone:
                row.alone.setText(
                    "<br>".join(
                        self._alone_line(alone[index], metric, best[metric] == index) for metric in ALONE_METRICS
                    )
                )

    def alone_text(self, index: int) -> str:
        return self._rows[index].alone.text() if self._rows[index].alone.isVisibleTo(self) else ""

    @staticmethod
    def _alone_line(example: dict, metric: str, is_best: bool) -> str:
        text = f"{METRIC_LABELS[metric]} {format_score(metric, alone_score(example, metric))}"
        return f"<span style='color:#1e7b34'><b>★ {text}</b></span>" if is_best else f"&nbsp;&nbsp;&nbsp;{text}"

    # internals ----------------------------------------------------------------------------------
    def _add_reference(self, text: str, focus: bool = False) -> None:
        if len(self._rows) >= MAX_REFERENCES:
            return
        row = _ReferenceRow(self._list)
        row.box.setPlainText(text)
        row.box.textChanged.connect(self.texts_changed)
        row.remove.clicked.connect(lambda: self.remove_reference(self._rows.index(row)))
        self._list_layout.insertWidget(len(self._rows), row)
        self._rows.append(row)
        self._renumber()
        if focus:
            row.box.setFocus()
            self.scroll.ensureWidgetVisible(row)
        self.texts_changed.emit()

    def _drop(self, row: _ReferenceRow) -> None:
        self._rows.remove(row)
        self._list_layout.removeWidget(row)
        row.setParent(None)
        row.deleteLater()
        self._renumber()

    def _renumber(self) -> None:
        alone = len(self._rows) == 1
        for number, row in enumerate(self._rows, start=1):
            row.label.setText(str(number))
            row.remove.setEnabled(not alone)
            row.remove.setToolTip("The lab needs at least one reference" if alone else f"Remove reference {number}")
        self.add_button.setEnabled(len(self._rows) < MAX_REFERENCES)
