"""The overview of an evaluation: one card per metric, a bar chart base vs fine-tuned with 95 % intervals,
the paired test in words, the BLEU signature and the warnings that say when a number cannot be trusted.

The chart draws every metric on one 0–100 axis (ROUGE × 100, BLEU as sacrebleu reports it); the cards
and the table show ROUGE as 0–1 F-measures, exactly as the evaluation JSON holds them.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from ift_desktop.core.evaluation.report import (
    METRIC_LABELS,
    METRICS,
    SIDE_LABELS,
    Comparison,
    format_score,
    paired_verdict,
    too_few_examples_words,
)
from ift_desktop.ui.widgets.plot_parts import legend_above

SIDE_COLOURS = {"base": "#8aa4c8", "tuned": "#2f9e62"}
GREY = "#667085"
# the colour and words of a card's difference follow the paired test, never the sign alone
VERDICT_LOOK = {
    "better": ("#1e7b34", "better: unlikely to be chance"),
    "worse": ("#b3261e", "worse: unlikely to be chance"),
    "unclear": (GREY, "not significant: could be chance"),
    "too few": (GREY, "too few examples for a verdict"),
    "pending": (GREY, "testing whether it is chance…"),
}


def _points(metric: str, value: float | None) -> float:
    if value is None:
        return 0.0
    return value if metric == "bleu" else value * 100.0


class MetricCard(QFrame):
    def __init__(self, metric: str, parent=None):
        super().__init__(parent)
        self.metric_key = metric  # not `metric`: that name would shadow QPaintDevice.metric() (a crash)
        self.setObjectName("MetricCard")
        self.setStyleSheet("#MetricCard { background: #ffffff; border: 1px solid #e4e7ec; border-radius: 8px; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(2)
        self.title = QLabel(METRIC_LABELS[metric])
        self.title.setStyleSheet("color: #667085; font-weight: 600;")
        self.verdict = ""  # the paired test's word on this metric (see report.paired_verdict)
        self.value = QLabel("—")
        self.value.setStyleSheet("font-size: 17pt; font-weight: 600; color: #1d2430;")
        self.detail = QLabel()
        self.detail.setTextFormat(Qt.RichText)
        self.detail.setWordWrap(True)
        self.detail.setStyleSheet("color: #475467;")
        layout.addWidget(self.title)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)
        layout.addStretch(1)

    def show_numbers(self, comparison: Comparison, stats: dict | None) -> None:
        metric, sides = self.metric_key, comparison.sides
        stats = stats or {}
        lines = []
        if len(sides) == 2:
            base, tuned = comparison.corpus("base", metric), comparison.corpus("tuned", metric)
            gain = tuned - base
            verdict = paired_verdict(stats.get("paired"), len(comparison.rows))
            colour, words = VERDICT_LOOK[verdict]
            self.value.setText(format_score(metric, tuned))
            self.title.setText(METRIC_LABELS[metric])
            lines.append(
                f"fine-tuned; <span style='color:{colour}; font-weight:600'>"
                f"{format_score(metric, gain, signed=True)}</span> vs base {format_score(metric, base)}"
            )
            if verdict != "too few":  # that one is said once, above the cards
                lines.append(f"<span style='color:{colour}'>{words}</span>")
            self.verdict = verdict
        else:
            self.value.setText(format_score(metric, comparison.corpus(sides[0], metric)))
            self.title.setText(f"{METRIC_LABELS[metric]} · {SIDE_LABELS[sides[0]].lower()}")
            lines.append(SIDE_LABELS[sides[0]].lower() + " model")
        for side in sides:
            ci = stats.get(side)
            if isinstance(ci, dict) and "low" in ci:
                lines.append(
                    f"{'tuned' if side == 'tuned' else 'base'} 95% CI {format_score(metric, ci['low'])}–"
                    f"{format_score(metric, ci['high'])}"
                )
        self.detail.setText("<br>".join(lines))
        self.value.setToolTip(
            f"{METRIC_LABELS[metric]} of the {'fine-tuned' if len(sides) == 2 else SIDE_LABELS[sides[0]].lower()}"
            " model over all examples"
        )


class ScoreChart(pg.PlotWidget):
    """Grouped bars per metric, one colour per model, with the bootstrap intervals as error bars."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.showGrid(x=False, y=True, alpha=0.25)
        self.setLabel("left", "score (ROUGE × 100, BLEU)")
        self.getAxis("bottom").setTicks([[(i, METRIC_LABELS[m]) for i, m in enumerate(METRICS)]])
        self.legend = legend_above(self.getPlotItem(), columns=2)
        self.bars: dict[str, pg.BarGraphItem] = {}
        self.errors: dict[str, pg.ErrorBarItem] = {}

    def show_comparison(self, comparison: Comparison, summary: dict | None) -> None:
        for item in list(self.bars.values()) + list(self.errors.values()):
            self.removeItem(item)
        self.legend.clear()
        self.bars.clear()
        self.errors.clear()
        sides = comparison.sides
        width = 0.8 / len(sides)
        top_value = 10.0
        for k, side in enumerate(sides):
            x = np.arange(len(METRICS)) + (k - (len(sides) - 1) / 2) * width
            heights = np.array([_points(m, comparison.corpus(side, m)) for m in METRICS])
            bars = pg.BarGraphItem(
                x=x,
                height=heights,
                width=width * 0.9,
                brush=SIDE_COLOURS[side],
                pen=pg.mkPen("#ffffff"),
                name=SIDE_LABELS[side],
            )
            self.addItem(bars)
            self.bars[side] = bars
            top_value = max(top_value, float(heights.max(initial=0)))
            intervals = [(summary or {}).get(m, {}).get(side) for m in METRICS]
            if all(isinstance(ci, dict) and "low" in ci for ci in intervals):
                low = np.array([_points(m, ci["low"]) for m, ci in zip(METRICS, intervals)])
                high = np.array([_points(m, ci["high"]) for m, ci in zip(METRICS, intervals)])
                errors = pg.ErrorBarItem(
                    x=x,
                    y=heights,
                    top=np.maximum(high - heights, 0),
                    bottom=np.maximum(heights - low, 0),
                    beam=width * 0.3,
                    pen=pg.mkPen("#344054", width=1.5),
                )
                self.addItem(errors)
                self.errors[side] = errors
                top_value = max(top_value, float(high.max(initial=0)))
        self.setXRange(-0.6, len(METRICS) - 0.4, padding=0)
        self.setYRange(0, min(105.0, top_value * 1.12 + 2), padding=0)


class SummaryView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.cards = {metric: MetricCard(metric) for metric in METRICS}
        self.too_few = QLabel()  # said before any number when the sample cannot support a verdict
        self.too_few.setWordWrap(True)
        self.too_few.setStyleSheet(
            "background: #fff4e5; color: #8a5300; border: 1px solid #8a5300; border-radius: 6px; padding: 6px;"
        )
        self.too_few.hide()
        cards_row = QHBoxLayout()
        cards_row.setSpacing(8)
        for card in self.cards.values():
            cards_row.addWidget(card, 1)
        self.chart = ScoreChart()
        self.chart.setMinimumHeight(240)
        self.notes = QLabel()
        self.notes.setTextFormat(Qt.RichText)
        self.notes.setWordWrap(True)
        self.notes.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.notes.setTextInteractionFlags(Qt.TextSelectableByMouse)
        notes_scroll = QScrollArea()
        notes_scroll.setWidgetResizable(True)
        notes_scroll.setFrameShape(QFrame.NoFrame)
        notes_scroll.setWidget(self.notes)
        lower = QGridLayout()
        lower.addWidget(self.chart, 0, 0)
        lower.addWidget(notes_scroll, 0, 1)
        lower.setColumnStretch(0, 5)
        lower.setColumnStretch(1, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.too_few)
        layout.addLayout(cards_row)
        layout.addLayout(lower, 1)
        self.summary: dict | None = None

    def show_comparison(self, comparison: Comparison | None, summary: dict | None = None) -> None:
        self.summary = summary
        if comparison is None:
            self.notes.setText("")
            return
        n = len(comparison.rows)
        few = len(comparison.sides) == 2 and paired_verdict(None, n) == "too few"
        self.too_few.setText("⚠ " + too_few_examples_words(n))
        self.too_few.setVisible(few)
        for card in self.cards.values():
            card.show_numbers(comparison, (summary or {}).get(card.metric_key))
        self.chart.show_comparison(comparison, summary)
        self.notes.setText(self._notes_html(comparison, summary))

    def notes_text(self) -> str:
        return self.notes.text()

    @staticmethod
    def _notes_html(comparison: Comparison, summary: dict | None) -> str:
        esc = html.escape
        parts = []
        sides = comparison.sides
        models = "; ".join(
            f"<b>{SIDE_LABELS[s]}</b>: {esc(comparison.evaluation(s).model_label)} "
            f"<span style='color:#667085'>({esc(comparison.evaluation(s).name)})</span>"
            for s in sides
        )
        first = comparison.evaluation(sides[0]).data
        split = first.get("split") or (first.get("data") or {}).get("split") or "?"
        parts.append(f"{models}<br>{len(comparison.rows)} examples of the <b>{esc(str(split))}</b> split")
        if len(sides) == 2:
            if summary is None:
                parts.append("<i>Computing the paired test…</i>")
            else:
                items = "".join(
                    f"<li><b>{METRIC_LABELS[m]}</b>: {esc(summary[m]['test'])}</li>"
                    for m in METRICS
                    if summary.get(m, {}).get("test")
                )
                parts.append(
                    "<b>Is the difference real?</b> A paired test on the same examples: the 95% bootstrap "
                    "interval of the difference and a randomization p-value (below 0.05: unlikely to be "
                    f"chance).<ul style='margin-left:-20px'>{items}</ul>"
                )
        elif summary is None:
            parts.append("<i>Computing confidence intervals…</i>")
        signature = comparison.bleu_signature()
        if signature:
            parts.append(f"<b>BLEU signature</b> (sacrebleu): <code>{esc(signature)}</code>")
        settings = first.get("settings") or {}
        if settings.get("rouge"):
            parts.append(f"<b>ROUGE</b>: {esc(str(settings['rouge']))}; corpus = mean of per-example scores")
        warnings = []
        for side in sides:
            for warning in comparison.evaluation(side).data.get("warnings") or []:
                if isinstance(warning, dict):
                    warning = warning.get("message") or warning.get("code") or ""
                warnings.append(f"<li>{esc(SIDE_LABELS[side])}: {esc(str(warning))}</li>")
        if warnings:
            parts.append(
                f"<span style='color:#8a5300'><b>⚠ Warnings</b></span><ul style='margin-left:-20px'>"
                f"{''.join(warnings)}</ul>"
            )
        return "<p>" + "</p><p>".join(parts) + "</p>"
