"""One scored example, shown and explained: the pieces the Examples tab and the Metric lab share.

* :class:`OverlapKindBar` — toggle buttons that pick the overlap kind (ROUGE-1/2/L, BLEU-1..4) and
  the colour legend under them.
* :class:`HighlightPane` — a titled :class:`HighlightView` with a line of numbers under it;
  :meth:`HighlightPane.show_overlap` colours the tokens the metric matched (``overlap_spans``).
* :func:`kind_numbers_html` — matched/total, precision and recall of one kind, as
  :func:`~ift_desktop.core.evaluation.explain.explain_example` counts them.
* :class:`ExplanationPanel` — "How the score is computed": :func:`explanation_html`, the core
  explanation with the example's own numbers.

Every number comes from a scored example as :func:`ift_desktop.core.evaluation.metrics.score`
writes it; nothing here counts on its own.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QFrame, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from ift_desktop.core.evaluation.explain import explain_example
from ift_desktop.core.evaluation.report import format_score
from ift_desktop.core.evaluation.report_highlights import KIND_LABELS, OVERLAP_KINDS, legend_entries, overlap_spans
from ift_desktop.ui.widgets.flow_layout import FlowLayout, flow_policy
from ift_desktop.ui.widgets.highlight_view import HighlightLegend, HighlightView

KIND_TIPS = {
    "rouge1": "Words shared by prediction and reference, each counted at most as often as it occurs in both",
    "rouge2": "Pairs of adjacent words (bigrams) shared by prediction and reference",
    "rougeL": "The longest common subsequence: shared words in the same order, gaps allowed",
    "bleu1": "BLEU's matched single tokens (clipped by the reference counts)",
    "bleu2": "BLEU's matched 2-grams",
    "bleu3": "BLEU's matched 3-grams",
    "bleu4": "BLEU's matched 4-grams",
}

_TITLE_STYLE = "font-weight: 600; color: #344054;"


class OverlapKindBar(QWidget):
    """ "Highlight:" and one toggle button per overlap kind, with the legend of the chosen kind below."""

    kind_changed = Signal(str)

    def __init__(self, kind: str = "rouge1", parent=None):
        super().__init__(parent)
        self.kind = kind
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.row_box = QWidget()  # the buttons wrap onto a second line rather than widening the page
        self.row_box.setSizePolicy(flow_policy())
        self.row = FlowLayout(self.row_box, spacing=2)
        self.row.addWidget(QLabel("Highlight:"))
        self.kind_buttons: dict[str, QPushButton] = {}
        for name in OVERLAP_KINDS:
            button = QPushButton(KIND_LABELS[name])
            button.setCheckable(True)
            button.setFocusPolicy(Qt.TabFocus)
            button.setToolTip(KIND_TIPS[name])
            button.setStyleSheet(
                "QPushButton { padding: 3px 10px; } QPushButton:checked { background: #2563eb;"
                " color: white; border: 1px solid #1d4ed8; border-radius: 4px; }"
            )
            self.group.addButton(button)
            self.kind_buttons[name] = button
            self.row.addWidget(button)
        self.kind_buttons[kind].setChecked(True)
        self.legend = HighlightLegend()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.row_box)
        layout.addWidget(self.legend)
        self._show_legend()
        self.group.buttonClicked.connect(self._on_button)

    def add_to_row(self, *widgets: QWidget) -> None:
        """Put ``widgets`` on the buttons' row, after the buttons (wrapping with them)."""
        for widget in widgets:
            self.row.addWidget(widget)

    def set_kind(self, kind: str) -> None:
        if kind not in OVERLAP_KINDS:
            raise ValueError(f"unknown overlap kind {kind!r}")
        self.kind_buttons[kind].setChecked(True)
        self._set_kind(kind)

    def colours(self) -> dict[str, str]:
        return {category: colour for category, colour, _text in legend_entries(self.kind)}

    def _on_button(self, button) -> None:
        for name, candidate in self.kind_buttons.items():
            if candidate is button:
                self._set_kind(name)

    def _set_kind(self, kind: str) -> None:
        if kind != self.kind:
            self.kind = kind
            self._show_legend()
            self.kind_changed.emit(kind)

    def _show_legend(self) -> None:
        self.legend.set_entries([(colour, text) for _category, colour, text in legend_entries(self.kind)])


class HighlightPane(QWidget):
    """A titled HighlightView with a line of numbers under it."""

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.title = QLabel(title)
        self.title.setStyleSheet(_TITLE_STYLE)
        self.title.setWordWrap(True)
        self.view = HighlightView()
        self.numbers = QLabel()
        self.numbers.setWordWrap(True)
        self.numbers.setTextFormat(Qt.RichText)
        self.numbers.setStyleSheet("color: #344054;")
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.numbers)

    def show_overlap(self, text: str, example: dict | None, kind: str, side: str, empty_text: str = "") -> None:
        """Show ``text`` with the tokens of ``side`` ("prediction"/"reference") that ``kind`` matched."""
        colours = {category: colour for category, colour, _text in legend_entries(kind)}
        self.view.set_content(text, overlap_spans(example, kind, side), colours, empty_text=empty_text)

    def clear(self) -> None:
        self.view.set_content("", empty_text="")
        self.numbers.setText("")


def kind_numbers_html(example: dict | None, kind: str) -> str:
    """Matched/total for precision (and recall) of ``kind``, as explain_example counts them."""
    if example is None:
        return ""
    numbers = explain_example(example, kind)["numbers"]
    label = KIND_LABELS[kind]
    if kind.startswith("bleu"):
        n = numbers["n"]
        unit = "tokens" if n == 1 else f"{n}-grams"
        return (
            f"<b>{label}</b>: p{n} = {numbers['matched']}/{numbers['prediction_total']} {unit} = "
            f"{numbers['precision']:.3f}<br>sentence BLEU {format_score('bleu', example.get('bleu'))}"
        )
    matched = numbers.get("matched", numbers.get("lcs", 0))
    unit = {"rougeL": "word", "rouge1": "word", "rouge2": "bigram"}[kind] + ("" if matched == 1 else "s")
    what = "in the LCS" if kind == "rougeL" else "matched"
    return (
        f"<b>{label}</b>: {matched} {unit} {what}<br>"
        f"P = {matched}/{numbers['prediction_total']} = {numbers['precision']:.3f} · "
        f"R = {matched}/{numbers['reference_total']} = {numbers['recall']:.3f} · "
        f"F = {numbers['fmeasure']:.3f}"
    )


def _section(explained: dict) -> str:
    lines = "".join(f"<p style='margin:3px 0'>{html.escape(line)}</p>" for line in explained["lines"])
    return f"<p style='margin:6px 0 2px'><b>{html.escape(explained['title'])}</b></p>{lines}"


def explanation_html(example: dict | None, kind: str, side_label: str) -> str:
    """The explanation of ``kind`` for one example; BLEU-n also shows how sentence BLEU follows."""
    if example is None:
        return ""
    parts = [
        f"<p style='color:#667085;margin:0'>{html.escape(side_label)} vs. the reference shown</p>",
        _section(explain_example(example, kind)),
    ]
    if kind.startswith("bleu"):
        parts.append(_section(explain_example(example, "bleu")))
    return "".join(parts)


class ExplanationPanel(QWidget):
    """ "How the score is computed": the core explanation of one kind with the example's numbers."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.setFrameShape(QFrame.StyledPanel)
        title = QLabel("How the score is computed")
        title.setStyleSheet(_TITLE_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(title)
        layout.addWidget(self.browser, 1)

    def show_example(self, example: dict | None, kind: str, side_label: str) -> None:
        self.browser.setHtml(explanation_html(example, kind, side_label))

    def text(self) -> str:
        return self.browser.toPlainText()
