"""The result views of the Evaluate page's *Forgetting* tab: the verdict, the bar chart and the table.

:class:`SubjectChart` draws base beside fine-tuned per subject (or task) on a 0–100 axis with
chance as a dashed line; :class:`SubjectTable` lists n, base, tuned and the change in points per
subject, sortable by the numbers (:class:`NumberItem`), biggest losses first;
:class:`RunComparisonTable` lists every stored run checked on the same items — base and fine-tuned
with 95 % intervals, the change with its paired interval, p and the verdict — so a single-task run
and a mixture run read side by side; :class:`ForgettingResultView` puts the verdict in words and the
overall numbers above them. Each takes the result dict of
:func:`ift_desktop.core.evaluation.forgetting.check_forgetting`.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.evaluation.forgetting import caveats, format_p
from ift_desktop.core.evaluation.mmlu import subject_title

COLOURS = {"base": "#8aa4c8", "tuned": "#2f9e62"}
VERDICT_COLOURS = {"forgetting": "#b3261e", "improved": "#1e6b32", "no significant change": "#344054"}


def _points(value) -> str:
    return "—" if value is None else f"{100 * float(value):.1f}"


def _signed(value) -> str:
    return "—" if value is None else f"{100 * float(value):+.1f}"


class NumberItem(QTableWidgetItem):
    """A table cell that sorts by the number in its UserRole (the text is formatted for reading)."""

    def __lt__(self, other):
        mine, theirs = self.data(Qt.UserRole), other.data(Qt.UserRole)
        if mine is None or theirs is None:
            return (mine is None, self.text()) < (theirs is None, other.text())
        return mine < theirs


class SubjectChart(pg.PlotWidget):
    """Bars per subject (or task), base beside fine-tuned, on a 0–100 axis; chance as a dashed line."""

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.showGrid(x=False, y=True, alpha=0.25)
        self.legend = self.addLegend(offset=(-10, 6))
        self.items: list = []
        self.names: list[str] = []
        self._chance_sample = None

    def show_result(self, result: dict) -> None:
        for item in self.items:
            self.removeItem(item)
        self.items.clear()
        self.legend.clear()
        groups = result.get("groups") or []
        self.names = [g["name"] for g in groups]
        self.setLabel("left", f"{result.get('metric_label', 'score')} × 100")
        self._set_ticks()
        top = 10.0
        for k, side in enumerate(("base", "tuned")):
            x = np.arange(len(groups)) + (k - 0.5) * 0.38
            heights = np.array([100 * float(g[side] or 0) for g in groups])
            bars = pg.BarGraphItem(
                x=x,
                height=heights,
                width=0.36,
                brush=COLOURS[side],
                pen=pg.mkPen("#ffffff"),
                name="Base" if side == "base" else "Fine-tuned",
            )
            self.addItem(bars)
            self.items.append(bars)
            top = max(top, float(heights.max(initial=0)))
        chance = result.get("chance")
        if chance is not None:
            pen = pg.mkPen("#667085", width=1, style=Qt.DashLine)
            line = pg.InfiniteLine(pos=100 * chance, angle=0, pen=pen)
            self.addItem(line)
            self.items.append(line)
            self._chance_sample = pg.PlotDataItem(pen=pen)  # only its pen is drawn, in the legend
            what = "majority" if result.get("chance_label") == "majority class" else "chance"
            self.legend.addItem(self._chance_sample, f"{what} ({100 * chance:.0f})")
        self.setXRange(-0.6, max(len(groups), 1) - 0.4, padding=0)
        self.setYRange(0, min(140.0, top * 1.35 + 4), padding=0)  # room for the legend above the bars
        self.getAxis("left").setTicks([[(v, str(v)) for v in range(0, 101, 20)]])  # scores end at 100

    def _set_ticks(self) -> None:
        """Subject names shortened to the room each bar pair has (full names are in the table)."""
        if not self.names:
            self.getAxis("bottom").setTicks([[]])
            return
        room = max(3, int(self.getViewBox().width() / len(self.names) / 8))
        ticks = []
        for i, name in enumerate(self.names):
            text = subject_title(name)
            ticks.append((i, text if len(text) <= room else text[: room - 1].rstrip() + "…"))
        self.getAxis("bottom").setTicks([ticks])

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if "names" in self.__dict__:  # resized once inside PlotWidget.__init__, before the names exist
            self._set_ticks()


class SubjectTable(QTableWidget):
    """Subject (or task), n, base, tuned and Δ points per row; sortable, the biggest losses first."""

    def __init__(self, parent=None):
        super().__init__(0, 5, parent)
        self.setHorizontalHeaderLabels(["Subject", "n", "Base", "Tuned", "Δ pts"])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSortingEnabled(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for column, width in zip(range(1, 5), (38, 60, 64, 64)):
            header.setSectionResizeMode(column, QHeaderView.Fixed)
            self.setColumnWidth(column, width)
        header.setToolTip("Accuracy (or ROUGE-L) × 100 per subject; Δ = fine-tuned − base, in points")

    def show_result(self, result: dict) -> None:
        groups = result.get("groups") or []
        kind = (result.get("check") or {}).get("kind")
        first = "Class" if kind == "classification" else "Subject" if result.get("metric") == "accuracy" else "Task"
        self.setHorizontalHeaderLabels([first, "n", "Base", "Tuned", "Δ pts"])
        self.setSortingEnabled(False)
        self.setRowCount(len(groups))
        for row, group in enumerate(groups):
            values = [subject_title(group["name"]), group["n"], group["base"], group["tuned"], group["delta"]]
            for column, value in enumerate(values):
                item = NumberItem()
                if column == 0:
                    item.setText(str(value))
                elif column == 1:
                    item.setText(str(value))
                    item.setData(Qt.UserRole, int(value))
                else:
                    item.setText(_signed(value) if column == 4 else _points(value))
                    item.setData(Qt.UserRole, None if value is None else float(value))
                if column > 0:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if column == 4 and value is not None and abs(value) >= 0.0005:
                    item.setForeground(QColor("#b3261e" if value < 0 else "#1e6b32"))
                self.setItem(row, column, item)
        self.setSortingEnabled(True)
        self.sortItems(4, Qt.AscendingOrder)  # the biggest losses first


def _interval(ci, signed: bool = False) -> str:
    if not ci or ci[0] is None:
        return ""
    fmt = _signed if signed else _points
    return f" [{fmt(ci[0])}, {fmt(ci[1])}]"


class RunComparisonTable(QTableWidget):
    """One row per run checked on the same items: base and fine-tuned with intervals, the change, p, verdict."""

    HEADERS = ["Run", "Base", "Fine-tuned", "Δ pts", "p", "Verdict"]

    def __init__(self, parent=None):
        super().__init__(0, len(self.HEADERS), parent)
        self.setHorizontalHeaderLabels(self.HEADERS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for column in range(1, len(self.HEADERS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeToContents)
        header.setToolTip(
            "Score × 100 with its 95 % interval; Δ = fine-tuned − base with the paired 95 % interval; "
            "p of the paired test"
        )

    def show_results(self, results: list[dict]) -> None:
        self.setRowCount(len(results))
        for row, result in enumerate(results):
            overall, test = result["overall"], result.get("test") or {}
            delta_ci = [overall.get("delta_low"), overall.get("delta_high")]
            verdict = result.get("verdict", "")
            cells = [
                str(result.get("run_name", "")),
                _points(overall["base"]) + _interval(overall.get("base_ci95")),
                _points(overall["tuned"]) + _interval(overall.get("tuned_ci95")),
                _signed(overall["delta"]) + _interval(delta_ci, signed=True),
                format_p(float(test["p_value"])).removeprefix("= ") if test.get("p_value") is not None else "—",
                verdict,
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(
                        Qt.AlignRight | Qt.AlignVCenter if column < 5 else Qt.AlignLeft | Qt.AlignVCenter
                    )
                if column == 5:
                    item.setForeground(QColor(VERDICT_COLOURS.get(verdict, "#344054")))
                if row == 0:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                item.setToolTip(result.get("summary") or "")
                self.setItem(row, column, item)
        self.setFixedHeight(self.horizontalHeader().height() + sum(self.rowHeight(r) for r in range(len(results))) + 4)


class ForgettingResultView(QWidget):
    """The right side of the tab: the verdict in words, the overall numbers, the chart and the table."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.headline = QLabel(
            "<b>What did the fine-tuning cost elsewhere?</b><br>Training on one task can make a model worse at "
            "others (catastrophic forgetting). Pick a held-out check on the left — the built-in one needs no files; "
            "a labelled classification file (e.g. SST-2), MMLU-style questions or a prepared dataset of another task "
            "are the advanced choices. The base model and the fine-tuned one answer the same items, and a paired "
            "test says whether the difference is real. Check a second run (e.g. one trained on a mixture of tasks) "
            "on the same items and both appear in one table.<br><br>Or open a stored check below the form."
        )
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.RichText)
        self.headline.setStyleSheet("font-size: 11pt; color: #667085; padding: 2px 0;")
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.RichText)
        self.details.setStyleSheet("color: #475467;")
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.chart = SubjectChart()
        self.chart.setMinimumHeight(170)
        self.table = SubjectTable()
        self.runs_title = QLabel("<b>Runs checked on these items</b>")
        self.runs = RunComparisonTable()
        lower = QSplitter(Qt.Horizontal)
        lower.addWidget(self.chart)
        lower.addWidget(self.table)
        lower.setChildrenCollapsible(False)
        lower.setStretchFactor(0, 3)
        lower.setStretchFactor(1, 2)
        lower.setSizes([380, 420])  # the table's own size hint would squeeze the chart away
        self.chart.setMinimumWidth(260)
        self.table.setMinimumWidth(360)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.details)
        layout.addWidget(lower, 1)
        layout.addWidget(self.runs_title)
        layout.addWidget(self.runs)
        self.result_parts = (self.chart, self.table, self.runs_title, self.runs)
        for part in self.result_parts:
            part.hide()

    def show_result(self, result: dict, same_check: list[dict] | None = None) -> None:
        """Show ``result``; ``same_check`` (result first) fills the table of runs checked on the same items."""
        esc = html.escape
        colour = VERDICT_COLOURS.get(result.get("verdict"), "#344054")
        self.headline.setStyleSheet(f"font-size: 13pt; font-weight: 600; color: {colour}; padding: 2px 0;")
        self.headline.setText(esc(result.get("summary") or ""))
        overall, test = result["overall"], result["test"]
        label = result.get("metric_label", "score")
        check = result.get("check") or {}
        delta_ci = [overall.get("delta_low"), overall.get("delta_high")]
        lines = [
            f"<b>{esc(label)}</b>: base <b>{_points(overall['base'])}</b>{_interval(overall.get('base_ci95'))} → "
            f"fine-tuned <b>{_points(overall['tuned'])}</b>{_interval(overall.get('tuned_ci95'))} "
            f"(<b style='color:{colour}'>{_signed(overall['delta'])}</b>{_interval(delta_ci, signed=True)} points, "
            f"95 % intervals) on {overall.get('n', '?')} items of <b>{esc(str(check.get('label', '')))}</b>",
            f"Run <b>{esc(str(result.get('run_name', '')))}</b> vs its base "
            f"{esc(str(result.get('base_label', '')))}; {self._settings_text(check)}",
            f"{esc(test['name'][:1].upper() + test['name'][1:])} test: {self._items(test.get('only_base', 0))} only "
            f"the base got {'right' if result.get('metric') == 'accuracy' else 'better'}, {test.get('only_tuned', 0)} "
            "only the fine-tuned model; below p = 0.05 the change is unlikely to be chance.",
        ]
        notes = caveats(result)
        if notes:
            lines.append("<span style='color:#8a5300'>⚠ " + "<br>⚠ ".join(esc(n) for n in notes) + "</span>")
        self.details.setText("<br>".join(lines))
        self.chart.show_result(result)
        self.table.show_result(result)
        self.runs.show_results(same_check or [result])
        for part in self.result_parts:
            part.show()
        several = len(same_check or []) > 1
        self.runs_title.setVisible(several)
        self.runs.setVisible(several)

    @staticmethod
    def _items(n: int) -> str:
        return f"{n} item" if n == 1 else f"{n} items"

    @staticmethod
    def _settings_text(check: dict) -> str:
        if check.get("kind") == "classification":
            limit = check.get("limit")
            rows = f"first {limit} rows" if limit else "all rows"
            return f"{check.get('shots', 0)}-shot, {rows}, log-likelihood of each label word"
        if check.get("kind") == "mmlu":
            limit = check.get("limit")
            per = f"{limit} questions per subject" if limit else "all questions"
            return f"{check.get('shots')}-shot, {per}, log-likelihood of the answer letter"
        return (
            f"{check.get('split', 'test')} split, greedy answers of up to {check.get('max_new_tokens')} tokens, "
            "scored with ROUGE-L"
        )
