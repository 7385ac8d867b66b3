"""The lab's numbers: ROUGE precision/recall/F1, sentence BLEU with its n-gram precisions and brevity
penalty, and which reference scored best (each reference's own scores sit beside it, ``editors.py``).

Every cell is read from :class:`~ift_desktop.core.evaluation.metric_lab.LabScores` (the ``score --json``
example); nothing is recomputed here. ROUGE is shown 0–1, BLEU 0–100, as ``score`` reports them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.evaluation.metric_lab import LabScores
from ift_desktop.core.evaluation.metrics import ROUGE_TYPES
from ift_desktop.core.evaluation.report import METRIC_LABELS

ROUGE_COLUMNS = ("Precision", "Recall", "F1", "Best ref.")
BLEU_COLUMNS = ("BLEU", "p1", "p2", "p3", "p4", "Brevity penalty", "Length")

_TIPS = {
    "rouge1": "Shared words: precision = matched / candidate words, recall = matched / reference words",
    "rouge2": "Shared pairs of neighbouring words",
    "rougeL": "Longest common subsequence: shared words in the same order",
    "rougeLsum": "ROUGE-L per sentence (one sentence per line), for summaries of several sentences",
}
_BLEU_TIPS = {
    "BLEU": "Sentence BLEU (sacrebleu, 0–100): brevity penalty × geometric mean of p1..p4",
    "p1": "Share of the candidate's single tokens found in a reference (%)",
    "p2": "Share of the candidate's 2-token sequences found in a reference (%)",
    "p3": "Share of the candidate's 3-token sequences found in a reference (%)",
    "p4": "Share of the candidate's 4-token sequences found in a reference (%)",
    "Brevity penalty": "1 when the candidate is at least as long as the reference, less when it is shorter",
    "Length": "Candidate tokens / reference tokens (the reference closest in length)",
}


def _table(rows: int, columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(rows, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.NoSelection)
    table.setFocusPolicy(Qt.NoFocus)
    table.verticalHeader().setDefaultSectionSize(21)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
    table.horizontalHeader().setHighlightSections(False)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    return table


def _fit_height(table: QTableWidget) -> None:
    height = table.horizontalHeader().height() + 2 * table.frameWidth()
    height += sum(table.rowHeight(r) for r in range(table.rowCount()))
    table.setFixedHeight(height)


def _cell(text: str, *, bold: bool = False, tip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    if bold:
        font = QFont()
        font.setBold(True)
        item.setFont(font)
    if tip:
        item.setToolTip(tip)
    return item


class ScoreTables(QWidget):
    """Three small tables; :meth:`show_scores` fills them, :meth:`clear` empties them."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rouge_table = _table(len(ROUGE_TYPES), ROUGE_COLUMNS)
        self.rouge_table.setVerticalHeaderLabels([METRIC_LABELS[t] for t in ROUGE_TYPES])
        for row, rouge_type in enumerate(ROUGE_TYPES):
            self.rouge_table.verticalHeaderItem(row).setToolTip(_TIPS[rouge_type])
        self.rouge_table.horizontalHeaderItem(3).setToolTip(
            "The reference the score comes from: with several, ROUGE keeps the one with the highest F1, per metric"
        )
        self.rouge_table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeToContents)
        self.bleu_table = _table(1, BLEU_COLUMNS)
        self.bleu_table.verticalHeader().hide()
        for column, name in enumerate(BLEU_COLUMNS):
            self.bleu_table.horizontalHeaderItem(column).setToolTip(_BLEU_TIPS[name])
        self.bleu_table.horizontalHeader().setSectionResizeMode(
            BLEU_COLUMNS.index("Brevity penalty"), QHeaderView.ResizeToContents
        )
        self.best_note = QLabel()
        self.best_note.setWordWrap(True)
        self.best_note.setStyleSheet("color: #475467;")
        for table in (self.rouge_table, self.bleu_table):
            _fit_height(table)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        rouge_title = QLabel("ROUGE (0–1)")
        rouge_title.setObjectName("SectionTitle")
        bleu_title = QLabel("BLEU (0–100), n-gram precisions (%)")
        bleu_title.setObjectName("SectionTitle")
        bleu_title.setToolTip("Sentence BLEU as sacrebleu computes it, with its 1- to 4-gram precisions")
        layout.addWidget(rouge_title)
        layout.addWidget(self.rouge_table)
        layout.addWidget(bleu_title)
        layout.addWidget(self.bleu_table)
        layout.addWidget(self.best_note)
        layout.addStretch(1)
        self.clear()

    # api ----------------------------------------------------------------------------------------
    def clear(self) -> None:
        for table in (self.rouge_table, self.bleu_table):
            table.clearContents()
        self.best_note.setText("")

    def show_scores(self, scores: LabScores) -> None:
        example, several = scores.example, len(scores.references) > 1
        chosen = example["best_reference_by_metric"]
        for row, rouge_type in enumerate(ROUGE_TYPES):
            value = example[rouge_type]
            for column, key in enumerate(("precision", "recall", "fmeasure")):
                self.rouge_table.setItem(row, column, _cell(f"{value[key]:.3f}", bold=key == "fmeasure"))
            used = f"{chosen[rouge_type] + 1} of {len(scores.references)}" if several else "1"
            self.rouge_table.setItem(
                row, 3, _cell(used, tip="With several references ROUGE keeps the one with the highest F1, per metric")
            )
        detail = example["bleu_detail"]
        cells = [
            f"{example['bleu']:.1f}",
            *(f"{p:.1f}" for p in detail["precisions"]),
            f"{detail['bp']:.3f}",
            f"{detail['sys_len']} / {detail['ref_len']}",
        ]
        for column, text in enumerate(cells):
            self.bleu_table.setItem(0, column, _cell(text, bold=column == 0))
        self._show_best(scores)

    # internals ----------------------------------------------------------------------------------
    def _show_best(self, scores: LabScores) -> None:
        if len(scores.references) == 1:
            self.best_note.setText("One reference. Add another to see which one the candidate matches best.")
            return
        best = scores.example["best_reference_by_metric"]["rougeL"]
        self.best_note.setText(
            f"Best reference: {best + 1} (highest ROUGE-L F1; the highlights use it). BLEU uses all "
            f"{len(scores.references)} together. Beside each reference: its scores alone, ★ = best."
        )

    def best_reference(self) -> int | None:
        """Index of the reference ROUGE-L chose (the one the highlights use), or None with no scores."""
        item = self.rouge_table.item(ROUGE_TYPES.index("rougeL"), 3)
        return None if item is None else int(item.text().split()[0]) - 1
