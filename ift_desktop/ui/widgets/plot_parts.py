"""Small pyqtgraph parts shared by the charts: a step axis with whole-number ticks and a legend that
sits above the plot area, where it can never cover a line or a bar."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt


class StepAxis(pg.AxisItem):
    """An axis of training steps: ticks only at whole steps (no 0.5 on a short run)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802,N803 - pyqtgraph API
        levels = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            if spacing < 1:
                continue
            whole = [v for v in values if float(v).is_integer()]
            if whole:
                levels.append((spacing, whole))
        if not levels and maxVal - minVal >= 0:
            levels = [(1.0, [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)])]
        return levels


def legend_above(plot_item: pg.PlotItem, columns: int = 4) -> pg.LegendItem:
    """A legend in the row above the plot area (where the title would go), filled by ``plot(name=...)``."""
    legend = pg.LegendItem(colCount=columns)
    layout = plot_item.layout
    layout.removeItem(plot_item.titleLabel)
    plot_item.titleLabel.hide()
    layout.addItem(legend, 0, 1)
    plot_item.legend = legend
    return legend


def title_with_key(title: str, entries: list[tuple[str, str]]) -> str:
    """A plot title that carries its own key: ``Loss  ━ training  ━ validation`` in the lines' colours."""
    keys = "&nbsp;&nbsp;".join(f"<span style='color:{colour}'>━ {label}</span>" for colour, label in entries)
    return f"{title}&nbsp;&nbsp;&nbsp;<span style='font-size:9pt'>{keys}</span>"


def let_title_shrink(plot_item: pg.PlotItem) -> None:
    """Let a plot's title be narrower than its text, so that titles never make a row of plots wider than the
    window (pyqtgraph's LabelItem resets its minimum to the text's width on every resize: undo that there)."""
    label = plot_item.titleLabel
    update_min = label.updateMin

    def update_min_but_shrinkable():
        update_min()
        label.setMinimumWidth(0)
        height = label._sizeHint[Qt.SizeHint.MinimumSize][1]  # pyqtgraph keeps its size hints in this dict
        label._sizeHint[Qt.SizeHint.MinimumSize] = (0, height)
        label.updateGeometry()

    label.updateMin = update_min_but_shrinkable
    update_min_but_shrinkable()
