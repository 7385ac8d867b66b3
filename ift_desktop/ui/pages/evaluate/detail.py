"""The detail of one example: reference | base prediction | fine-tuned prediction with the overlap highlighted.

A row of toggle buttons picks the overlap kind (ROUGE-1, ROUGE-2, ROUGE-L, BLEU-1..4); the tokens the
metric matched are coloured in the original text (positions straight from the evaluation's ``overlap``),
a legend says what each colour means, and hovering a token shows its n-gram and counts. Under each
prediction: matched/total for precision and recall. The reference shows the matches of one side at a
time (a switch when both exist). On the right, "How the score is computed" explains the metric with
this example's own numbers.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.ui.widgets.flow_layout import FlowLayout, flow_policy
from ift_desktop.core.evaluation.report import (
    KIND_LABELS,
    METRIC_LABELS,
    OVERLAP_KINDS,
    SIDE_LABELS,
    Comparison,
    ComparisonRow,
    format_score,
    legend_entries,
    overlap_spans,
)
from ift_desktop.ui.widgets.highlight_view import HighlightLegend, HighlightView

from ift_desktop.core.evaluation.explain import explain_example

from .explanation import explanation_html


class _Pane(QWidget):
    """A titled HighlightView with a line of numbers under it."""

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.title = QLabel(title)
        self.title.setStyleSheet("font-weight: 600; color: #344054;")
        self.title.setWordWrap(True)
        self.view = HighlightView()
        self.numbers = QLabel()
        self.numbers.setWordWrap(True)
        self.numbers.setTextFormat(Qt.RichText)
        self.numbers.setStyleSheet("color: #344054;")
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.numbers)


class DetailView(QWidget):
    kind_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self.row: ComparisonRow | None = None
        self.kind = "rouge1"

        self.heading = QLabel("Select an example in the table")
        self.heading.setStyleSheet("font-weight: 600; font-size: 11pt;")
        self.heading.setWordWrap(True)
        self.kind_group = QButtonGroup(self)
        self.kind_group.setExclusive(True)
        kinds_box = QWidget()
        kinds_box.setSizePolicy(flow_policy())
        kinds_row = FlowLayout(kinds_box, spacing=2)
        kinds_row.addWidget(QLabel("Highlight:"))
        self.kind_buttons: dict[str, QPushButton] = {}
        for kind in OVERLAP_KINDS:
            button = QPushButton(KIND_LABELS[kind])
            button.setCheckable(True)
            button.setFocusPolicy(Qt.TabFocus)
            button.setToolTip(_KIND_TIPS[kind])
            button.setStyleSheet("QPushButton { padding: 3px 10px; } QPushButton:checked { background: #2563eb;"
                                 " color: white; border: 1px solid #1d4ed8; border-radius: 4px; }")
            self.kind_group.addButton(button)
            self.kind_buttons[kind] = button
            kinds_row.addWidget(button)
        self.kind_buttons[self.kind].setChecked(True)
        self.reference_side_label = QLabel("    Reference matches of:")
        self.reference_side = QComboBox()
        self.reference_side.setToolTip("The reference shows the words matched by this model's prediction; "
                                       "the explanation uses its numbers")
        kinds_row.addWidget(self.reference_side_label)
        kinds_row.addWidget(self.reference_side)
        self.legend = HighlightLegend()

        self.reference = _Pane("Reference")
        self.panes = {"base": _Pane(f"{SIDE_LABELS['base']} prediction"),
                      "tuned": _Pane(f"{SIDE_LABELS['tuned']} prediction")}
        self.explain = QTextBrowser()
        self.explain.setOpenLinks(False)
        self.explain.setFrameShape(QFrame.StyledPanel)
        explain_box = QWidget()
        explain_layout = QVBoxLayout(explain_box)
        explain_layout.setContentsMargins(0, 0, 0, 0)
        explain_layout.setSpacing(4)
        explain_title = QLabel("How the score is computed")
        explain_title.setStyleSheet("font-weight: 600; color: #344054;")
        explain_layout.addWidget(explain_title)
        explain_layout.addWidget(self.explain, 1)

        self.splitter = QSplitter(Qt.Horizontal)
        for widget in (self.reference, self.panes["base"], self.panes["tuned"], explain_box):
            self.splitter.addWidget(widget)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([260, 260, 260, 300])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.heading)
        layout.addWidget(kinds_box)
        layout.addWidget(self.legend)
        layout.addWidget(self.splitter, 1)

        self.kind_group.buttonClicked.connect(self._on_kind_button)
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
        if kind not in OVERLAP_KINDS:
            raise ValueError(f"unknown overlap kind {kind!r}")
        self.kind_buttons[kind].setChecked(True)
        self._set_kind(kind)

    def set_reference_side(self, side: str) -> None:
        index = self.reference_side.findData(side)
        if index >= 0:
            self.reference_side.setCurrentIndex(index)

    def current_reference_side(self) -> str | None:
        if self.comparison is None:
            return None
        return self.reference_side.currentData() or self.comparison.sides[-1]

    # internals ----------------------------------------------------------------------------------
    def _on_kind_button(self, button) -> None:
        for kind, candidate in self.kind_buttons.items():
            if candidate is button:
                self._set_kind(kind)

    def _set_kind(self, kind: str) -> None:
        if kind != self.kind:
            self.kind = kind
            self._refresh()
            self.kind_changed.emit(kind)

    def _refresh(self) -> None:
        entries = legend_entries(self.kind)
        colours = {category: colour for category, colour, _text in entries}
        self.legend.set_entries([(colour, text) for _category, colour, text in entries])
        row = self.row
        if row is None:
            self.heading.setText("Select an example in the table" if self.comparison else "No evaluation open")
            self.reference.view.set_content("", empty_text="")
            self.reference.numbers.setText("")
            for pane in self.panes.values():
                pane.view.set_content("")
                pane.numbers.setText("")
            self.explain.setHtml("")
            return
        sides = self.comparison.sides
        parts = [f"Example {row.index + 1} of {len(self.comparison.rows)}"]
        for metric in ("rouge1", "rougeL", "bleu"):
            gain = row.gain(metric)
            if gain is not None:
                parts.append(f"{METRIC_LABELS[metric]} {format_score(metric, row.score('base', metric))} → "
                             f"{format_score(metric, row.score('tuned', metric))} ({format_score(metric, gain, signed=True)})")
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
        self.reference.view.set_content(reference, overlap_spans(row.example(ref_side), self.kind, "reference"), colours)
        self.reference.numbers.setText("")
        for side in sides:
            pane = self.panes[side]
            example = row.example(side)
            prediction = row.prediction(side) or ""
            pane.view.set_content(prediction, overlap_spans(example, self.kind, "prediction"), colours,
                                  empty_text="(empty prediction — every score is 0)")
            note = ""
            own_index, _text = row.reference_for(side)
            if own_index != ref_index:
                note = (f"<br><span style='color:#667085'>(counted against reference {own_index + 1}, its best match, "
                        "not the one shown)</span>")
            pane.numbers.setText(self._numbers_html(example) + note)
        self.explain.setHtml(explanation_html(row.example(ref_side), self.kind, SIDE_LABELS[ref_side]))

    def _numbers_html(self, example: dict | None) -> str:
        """Matched/total for precision (and recall) of the shown kind, as explain_example counts them."""
        if example is None:
            return ""
        numbers = explain_example(example, self.kind)["numbers"]
        label = KIND_LABELS[self.kind]
        if self.kind.startswith("bleu"):
            n = numbers["n"]
            unit = "tokens" if n == 1 else f"{n}-grams"
            return (f"<b>{label}</b>: p{n} = {numbers['matched']}/{numbers['prediction_total']} {unit} = "
                    f"{numbers['precision']:.3f}<br>sentence BLEU {format_score('bleu', example.get('bleu'))}")
        matched = numbers.get("matched", numbers.get("lcs", 0))
        unit = {"rougeL": "word", "rouge1": "word", "rouge2": "bigram"}[self.kind] + ("" if matched == 1 else "s")
        what = "in the LCS" if self.kind == "rougeL" else "matched"
        return (f"<b>{label}</b>: {matched} {unit} {what}<br>"
                f"P = {matched}/{numbers['prediction_total']} = {numbers['precision']:.3f} · "
                f"R = {matched}/{numbers['reference_total']} = {numbers['recall']:.3f} · "
                f"F = {numbers['fmeasure']:.3f}")


_KIND_TIPS = {
    "rouge1": "Words shared by prediction and reference, each counted at most as often as it occurs in both",
    "rouge2": "Pairs of adjacent words (bigrams) shared by prediction and reference",
    "rougeL": "The longest common subsequence: shared words in the same order, gaps allowed",
    "bleu1": "BLEU's matched single tokens (clipped by the reference counts)",
    "bleu2": "BLEU's matched 2-grams",
    "bleu3": "BLEU's matched 3-grams",
    "bleu4": "BLEU's matched 4-grams",
}
