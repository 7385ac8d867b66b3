"""The detail of one example: reference | base prediction | fine-tuned prediction with the overlap highlighted.

A row of toggle buttons picks the overlap kind (ROUGE-1, ROUGE-2, ROUGE-L, BLEU-1..4); the tokens the
metric matched are coloured in the original text (positions straight from the evaluation's ``overlap``),
a legend says what each colour means, and hovering a token shows its n-gram and counts. Under each
prediction: matched/total for precision and recall. The reference shows the matches of one side at a
time (a switch when both exist). On the right, "How the score is computed" explains the metric with
this example's own numbers. The kind bar, the panes, the numbers and the explanation are the shared
widgets of ``ui/widgets/score_explanation.py`` (the Metric lab shows the same); "Open in Metric lab"
hands the shown prediction and the references to the lab.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from ift_desktop.core.evaluation.report import (
    METRIC_LABELS,
    SIDE_LABELS,
    Comparison,
    ComparisonRow,
    format_score,
)
from ift_desktop.ui.widgets.score_explanation import (
    ExplanationPanel,
    HighlightPane,
    OverlapKindBar,
    kind_numbers_html,
)


class DetailView(QWidget):
    kind_changed = Signal(str)
    open_in_lab_requested = Signal(str, list)  # prediction, references

    def __init__(self, parent=None):
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self.row: ComparisonRow | None = None
        self.kind = "rouge1"

        self.heading = QLabel("Select an example in the table")
        self.heading.setStyleSheet("font-weight: 600; font-size: 11pt;")
        self.heading.setWordWrap(True)  # wraps rather than widening the page beside the button
        self.open_in_lab = QPushButton("Open in Metric lab")
        self.open_in_lab.setToolTip(
            "Copy this prediction and its references into the Metric lab, "
            "to edit the prediction and see how the score would move"
        )
        self.open_in_lab.setEnabled(False)
        heading_row = QHBoxLayout()
        heading_row.addWidget(self.heading, 1)
        heading_row.addWidget(self.open_in_lab)
        self.kind_bar = OverlapKindBar(self.kind)
        self.kind_buttons = self.kind_bar.kind_buttons
        self.legend = self.kind_bar.legend
        self.reference_side_label = QLabel("Reference matches of:")
        self.reference_side = QComboBox()
        self.reference_side.setToolTip(
            "The reference shows the words matched by this model's prediction; the explanation uses its numbers"
        )
        self.kind_bar.add_to_row(self.reference_side_label, self.reference_side)

        self.reference = HighlightPane("Reference")
        self.panes = {
            "base": HighlightPane(f"{SIDE_LABELS['base']} prediction"),
            "tuned": HighlightPane(f"{SIDE_LABELS['tuned']} prediction"),
        }
        self.explanation = ExplanationPanel()
        self.explain = self.explanation.browser

        self.splitter = QSplitter(Qt.Horizontal)
        for widget in (self.reference, self.panes["base"], self.panes["tuned"], self.explanation):
            self.splitter.addWidget(widget)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([260, 260, 260, 300])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(heading_row)
        layout.addWidget(self.kind_bar)
        layout.addWidget(self.splitter, 1)

        self.kind_bar.kind_changed.connect(self._on_kind_changed)
        self.open_in_lab.clicked.connect(self._on_open_in_lab)
        self.reference_side.currentIndexChanged.connect(lambda _i: self._refresh())
        self._refresh()

    # api ----------------------------------------------------------------------------------------
    def set_comparison(self, comparison: Comparison | None) -> None:
        self.comparison = comparison
        self.row = None
        sides = comparison.sides if comparison is not None else []
        self.reference_side.blockSignals(True)
        self.reference_side.clear()
        for side in reversed(sides):  # fine-tuned first
            self.reference_side.addItem(SIDE_LABELS[side], side)
        self.reference_side.blockSignals(False)
        both = len(sides) == 2
        self.reference_side.setVisible(both)
        self.reference_side_label.setVisible(both)
        for side, pane in self.panes.items():
            pane.setVisible(side in sides)
        self._refresh()

    def show_row(self, index: int | None) -> None:
        if self.comparison is None or index is None or not 0 <= index < len(self.comparison.rows):
            self.row = None
        else:
            self.row = self.comparison.rows[index]
        self._refresh()

    def set_kind(self, kind: str) -> None:
        self.kind_bar.set_kind(kind)

    def set_reference_side(self, side: str) -> None:
        index = self.reference_side.findData(side)
        if index >= 0:
            self.reference_side.setCurrentIndex(index)

    def current_reference_side(self) -> str | None:
        if self.comparison is None:
            return None
        return self.reference_side.currentData() or self.comparison.sides[-1]

    # internals ----------------------------------------------------------------------------------
    def _on_kind_changed(self, kind: str) -> None:
        self.kind = kind
        self._refresh()
        self.kind_changed.emit(kind)

    def _on_open_in_lab(self) -> None:
        """Ask for the Metric lab with the prediction the reference pane shows and all references."""
        if self.row is None:
            return
        side = self.current_reference_side()
        self.open_in_lab_requested.emit(self.row.prediction(side) or "", list(self.row.references))

    def _refresh(self) -> None:
        row = self.row
        self.open_in_lab.setEnabled(row is not None)
        if row is not None:
            side = SIDE_LABELS[self.current_reference_side()].lower()
            self.open_in_lab.setToolTip(
                f"Copy the {side} prediction and the references into the Metric lab, to edit "
                "the prediction and see how the score would move"
            )
        if row is None:
            self.heading.setText("Select an example in the table" if self.comparison else "No evaluation open")
            self.reference.clear()
            for pane in self.panes.values():
                pane.clear()
            self.explanation.show_example(None, self.kind, "")
            return
        sides = self.comparison.sides
        parts = [f"Example {row.index + 1} of {len(self.comparison.rows)}"]
        for metric in ("rouge1", "rougeL", "bleu"):
            gain = row.gain(metric)
            if gain is not None:
                parts.append(
                    f"{METRIC_LABELS[metric]} {format_score(metric, row.score('base', metric))} → "
                    f"{format_score(metric, row.score('tuned', metric))} ({format_score(metric, gain, signed=True)})"
                )
            else:
                parts.append(f"{METRIC_LABELS[metric]} {format_score(metric, row.score(sides[0], metric))}")
        self.heading.setText("   ·   ".join(parts))

        ref_side = self.current_reference_side()
        ref_index, reference = row.reference_for(ref_side)
        title = "Reference"
        if len(row.references) > 1:
            title += f" {ref_index + 1} of {len(row.references)} (best ROUGE-L match)"
        self.reference.title.setText(title)
        tip = f"Highlighted: what the {SIDE_LABELS[ref_side].lower()} prediction matched."
        if len(row.references) > 1:
            tip += "\n\nAll references:\n" + "\n".join(f"{i + 1}. {r}" for i, r in enumerate(row.references))
        self.reference.title.setToolTip(tip)
        self.reference.show_overlap(reference, row.example(ref_side), self.kind, "reference")
        self.reference.numbers.setText("")
        for side in sides:
            pane = self.panes[side]
            example = row.example(side)
            pane.show_overlap(
                row.prediction(side) or "",
                example,
                self.kind,
                "prediction",
                empty_text="(empty prediction — every score is 0)",
            )
            note = ""
            own_index, _text = row.reference_for(side)
            if own_index != ref_index:
                note = (
                    f"<br><span style='color:#667085'>(counted against reference {own_index + 1}, its best match, "
                    "not the one shown)</span>"
                )
            pane.numbers.setText(kind_numbers_html(example, self.kind) + note)
        self.explanation.show_example(row.example(ref_side), self.kind, f"{SIDE_LABELS[ref_side]} prediction")
