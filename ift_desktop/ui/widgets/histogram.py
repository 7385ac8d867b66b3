"""A token-length histogram (pyqtgraph) with the max-length cutoff drawn on it.

``LengthHistogram.set_lengths(lengths, max_length)`` draws how many examples have each total
token length; the bars past the cutoff are drawn in a warning colour, a vertical line marks
``max_length`` and the caption says what share of the examples it would truncate. Moving the
cutoff (``set_max_length``) only recolours and re-counts; the lengths are not recomputed.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

_KEPT = (46, 125, 50, 190)
_CUT = (198, 40, 40, 200)
_LINE = "#b3261e"


def histogram_bins(lengths: list[int], bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Counts and edges for ``lengths`` with integer-aligned bins of equal width."""
    values = np.asarray(lengths, dtype=float)
    low, high = int(values.min()), int(values.max())
    width = max(1, int(np.ceil((high - low + 1) / bins)))
    edges = np.arange(low, high + width + 1, width, dtype=float)
    counts, edges = np.histogram(values, bins=edges)
    return counts, edges


def truncated_share(lengths: list[int], max_length: int) -> tuple[int, float]:
    """How many lengths exceed ``max_length``, and which share of all that is."""
    if not lengths:
        return 0, 0.0
    n = int(sum(1 for length in lengths if length > max_length))
    return n, n / len(lengths)


class LengthHistogram(QWidget):
    """Histogram of total token lengths with a cutoff line and the truncated share."""

    def __init__(self, parent=None, *, title: str = "Total tokens per example (prompt + completion)"):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumHeight(180)
        item = self.plot.getPlotItem()
        item.setTitle(title, color="#333", size="10pt")
        item.setLabel("bottom", "tokens")
        item.setLabel("left", "examples")
        item.showGrid(x=False, y=True, alpha=0.25)
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        for axis in ("left", "bottom"):
            item.getAxis(axis).setTextPen("#444")
            item.getAxis(axis).setPen("#888")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption)
        self._bars: list[pg.BarGraphItem] = []
        self._line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(_LINE, width=2, style=Qt.DashLine))
        self._line_label = pg.TextItem(color=_LINE, anchor=(0, 0))
        self.lengths: list[int] = []
        self.max_length = 0
        self._n_truncated: int | None = None
        self._counts = np.zeros(0)
        self._edges = np.zeros(0)
        self.clear()

    # public ------------------------------------------------------------------------------------
    def clear(self, message: str = "No statistics yet.") -> None:
        self.lengths = []
        self._remove_bars()
        item = self.plot.getPlotItem()
        for extra in (self._line, self._line_label):
            if extra.scene() is not None:
                item.removeItem(extra)
        self.caption.setText(message)

    def set_lengths(self, lengths: list[int], max_length: int, *, n_truncated: int | None = None) -> None:
        """Draw ``lengths``; ``n_truncated`` overrides the count past the cutoff (a seq2seq model
        truncates its input and its labels separately, so its totals alone do not tell)."""
        self.lengths = [int(x) for x in lengths]
        if not self.lengths:
            self.clear("No examples to measure.")
            return
        self._counts, self._edges = histogram_bins(self.lengths)
        self.set_max_length(max_length, n_truncated=n_truncated)
        item = self.plot.getPlotItem()
        left = min(float(self._edges[0]), float(max_length)) * 0.95
        right = max(float(self._edges[-1]), max_length * 1.05)
        item.setXRange(left, right, padding=0.02)
        self._x_range = (left, right)
        self._place_label()
        item.setYRange(0, float(self._counts.max()) * 1.12 or 1, padding=0)

    def set_max_length(self, max_length: int, *, n_truncated: int | None = None) -> None:
        self.max_length = int(max_length)
        self._n_truncated = n_truncated
        if not self.lengths:
            return
        self._remove_bars()
        item = self.plot.getPlotItem()
        centers = (self._edges[:-1] + self._edges[1:]) / 2
        width = float(self._edges[1] - self._edges[0]) * 0.92
        cut = self._edges[1:] > self.max_length  # a bin holding any length past the cutoff
        for mask, colour in ((~cut, _KEPT), (cut, _CUT)):
            if mask.any():
                bars = pg.BarGraphItem(
                    x=centers[mask],
                    height=self._counts[mask],
                    width=width,
                    brush=pg.mkBrush(*colour),
                    pen=pg.mkPen(None),
                )
                item.addItem(bars)
                self._bars.append(bars)
        self._line.setPos(self.max_length)
        if self._line.scene() is None:
            item.addItem(self._line)
            item.addItem(self._line_label)
        self._line_label.setText(f" max length {self.max_length} ")
        self._place_label()
        n, share = self.truncated()
        self.caption.setText(
            f"{n} of {len(self.lengths)} examples ({share:.1%}) do not fit in {self.max_length} tokens "
            "and would be truncated."
        )

    def _place_label(self) -> None:
        """Put the cutoff's label beside the line, on the side with room for it."""
        left, right = getattr(self, "_x_range", (0.0, float(self.max_length) * 2))
        near_right = self.max_length > left + (right - left) * 0.7
        self._line_label.setAnchor((1, 0) if near_right else (0, 0))
        self._line_label.setPos(self.max_length, float(self._counts.max()) * 1.1 if len(self._counts) else 1)

    def truncated(self) -> tuple[int, float]:
        """How many examples the cutoff truncates, and their share."""
        if self._n_truncated is not None:
            return self._n_truncated, self._n_truncated / len(self.lengths) if self.lengths else 0.0
        return truncated_share(self.lengths, self.max_length)

    # internals ---------------------------------------------------------------------------------
    def _remove_bars(self) -> None:
        item = self.plot.getPlotItem()
        for bars in self._bars:
            item.removeItem(bars)
        self._bars = []
