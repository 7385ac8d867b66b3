"""Live training curves (pyqtgraph): loss raw + smoothed with validation loss on the same axis,
learning rate, gradient norm and throughput.

Points are appended to plain arrays as events arrive; a ``QTimer`` redraws at about 10 Hz when
something changed, so a burst of logged steps costs one redraw, not one per signal (STYLE.md).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from ift_desktop.ui.widgets.plot_parts import StepAxis, let_title_shrink, title_with_key

REDRAW_INTERVAL_MS = 100
EMA_BETA = 0.9  # smoothing of the training loss; bias-corrected so the first points are not dragged to 0

_RAW = (120, 160, 210)
_SMOOTH = (25, 90, 180)
_EVAL = (215, 95, 20)


def _hex(rgb: tuple[int, int, int]) -> str:
    red, green, blue = rgb
    return f"#{red:02x}{green:02x}{blue:02x}"


_LR = (80, 140, 80)
_GRAD = (140, 80, 160)
_SPEED = (60, 120, 130)


class Series:
    """A growing list of (x, y) points kept as Python lists; converted to arrays only when drawn."""

    def __init__(self) -> None:
        self.x: list[float] = []
        self.y: list[float] = []

    def append(self, x: float, y: float) -> None:
        self.x.append(float(x))
        self.y.append(float(y))

    def clear(self) -> None:
        self.x.clear()
        self.y.clear()

    def __len__(self) -> int:
        return len(self.x)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.x, dtype=float), np.asarray(self.y, dtype=float)


def ema(values: list[float], beta: float = EMA_BETA) -> list[float]:
    """Bias-corrected exponential moving average (what TensorBoard's smoothing slider draws)."""
    out, avg, n = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):
            out.append(float("nan"))
            continue
        n += 1
        avg = beta * avg + (1 - beta) * value
        out.append(avg / (1 - beta**n))
    return out


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k that is at least ``value`` (an axis
    top that moves rarely and leaves the curve most of the height)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if factor * power >= value * (1 - 1e-12):
            return factor * power
    return 10 * power


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(float(value))


class TrainingCurves(QWidget):
    """Four linked plots sharing the step axis. Feed it with :meth:`add_log` / :meth:`add_eval`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # no antialiasing: a repaint of these four plots must stay well under the 100 ms budget
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground("w")
        self.view.setMinimumHeight(180)  # with the run's messages above, a 700-px window still fits
        layout.addWidget(self.view)

        # the key is part of the title, above the plot area: it never covers a line
        key = [(_hex(_RAW), "training loss"), (_hex(_SMOOTH), "smoothed"), (_hex(_EVAL), "validation loss")]
        self.loss_plot = self.view.addPlot(
            row=0, col=0, colspan=3, title=title_with_key("Loss", key), axisItems={"bottom": StepAxis("bottom")}
        )
        self.loss_plot.setLabel("bottom", "step")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.25)
        self.lr_plot = self._small_plot(1, 0, "Learning rate")
        self.grad_plot = self._small_plot(1, 1, "Gradient norm")
        self.speed_plot = self._small_plot(1, 2, "Tokens / s")
        self.view.ci.layout.setRowStretchFactor(0, 3)
        self.view.ci.layout.setRowStretchFactor(1, 2)
        self.plots = (self.loss_plot, self.lr_plot, self.grad_plot, self.speed_plot)
        # Axis text is the costly part of a repaint; cache it as pixmaps (re-rendered only when the
        # axis changes) and, once the run's length is known, keep the step axis fixed (set_step_range).
        for plot in self.plots:
            for side in ("left", "bottom"):
                plot.getAxis(side).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
            plot.titleLabel.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
            let_title_shrink(plot)  # a title never makes the plots wider than the window
        self._step_range = 0
        # y axes start at 0 and grow in "nice" steps (all four quantities are non-negative), so an
        # axis, and its cached text, changes a few times per run instead of at every redraw
        # The step axis is shared by the four plots and set here, not by pyqtgraph's auto-range.
        self._y_tops: dict[int, float] = {}
        self._x_top = 0.0
        for plot in self.plots:
            plot.enableAutoRange(x=False, y=False)
            plot.setYRange(0, 1, padding=0)
        self._set_x_top(10)

        self.loss = Series()
        self.eval_loss = Series()
        self.learning_rate = Series()
        self.grad_norm = Series()
        self.tokens_per_s = Series()

        self._raw_item = self.loss_plot.plot(pen=pg.mkPen(_RAW, width=1), name="training loss")
        self._smooth_item = self.loss_plot.plot(pen=pg.mkPen(_SMOOTH, width=2.5), name="smoothed")
        self._eval_item = self.loss_plot.plot(
            pen=pg.mkPen(_EVAL, width=2),
            symbol="o",
            symbolSize=7,
            symbolBrush=_EVAL,
            symbolPen=None,
            name="validation loss",
        )
        self._lr_item = self.lr_plot.plot(pen=pg.mkPen(_LR, width=2))
        self._grad_item = self.grad_plot.plot(pen=pg.mkPen(_GRAD, width=1.5))
        self._speed_item = self.speed_plot.plot(pen=pg.mkPen(_SPEED, width=1.5))
        self._marker = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen((120, 120, 120), style=pg.QtCore.Qt.DashLine)
        )
        self._marker.hide()
        self.loss_plot.addItem(self._marker)

        self.redraws = 0  # how many times the plots were actually redrawn (tests read it)
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self._redraw_if_dirty)
        self._timer.start()

    def _small_plot(self, row: int, col: int, title: str):
        plot = self.view.addPlot(row=row, col=col, title=title, axisItems={"bottom": StepAxis("bottom")})
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setLabel("bottom", "step")
        plot.getAxis("left").setWidth(48)
        return plot

    # feeding ------------------------------------------------------------------------------------
    def add_log(self, event: dict) -> None:
        """Append the points of one ``log`` event (missing or non-finite values are skipped,
        except a NaN loss, which is kept so the gap shows where it happened)."""
        step = event.get("step")
        if step is None:
            return
        if isinstance(event.get("max_steps"), int) and event["max_steps"] > 0:
            self.set_step_range(max(event["max_steps"], int(step)))
        elif self._step_range and step > self._step_range:
            self.set_step_range(int(step * 1.5))
        loss = event.get("loss")
        if isinstance(loss, (int, float)):
            self.loss.append(step, loss)
        for key, series in (
            ("learning_rate", self.learning_rate),
            ("grad_norm", self.grad_norm),
            ("tokens_per_s", self.tokens_per_s),
        ):
            if _finite(event.get(key)):
                series.append(step, event[key])
        self._dirty = True

    def add_eval(self, event: dict) -> None:
        if event.get("step") is not None and isinstance(event.get("eval_loss"), (int, float)):
            self.eval_loss.append(event["step"], event["eval_loss"])
            self._dirty = True

    def load_history(self, records: list[dict]) -> None:
        """Fill the plots from ``metrics.jsonl`` records (a resumed run continues its curve)."""
        for record in records:
            if record.get("loss") is not None:
                self.add_log(record)
            if record.get("eval_loss") is not None:
                self.add_eval(record)

    def set_step_range(self, max_steps: int | None) -> None:
        """Fix the step axis at 0..max_steps (None: follow the data)."""
        if not max_steps:
            self._step_range = 0
        elif max_steps != self._step_range:
            self._step_range = int(max_steps)
            self._set_x_top(self._step_range)

    def _set_x_top(self, top: float) -> None:
        if top != self._x_top:
            self._x_top = top
            for plot in self.plots:
                plot.setXRange(0, top, padding=0.02)

    def clear(self) -> None:
        for series in (self.loss, self.eval_loss, self.learning_rate, self.grad_norm, self.tokens_per_s):
            series.clear()
        self._marker.hide()
        self.set_step_range(None)
        self._dirty = True

    def mark_step(self, step: int | None) -> None:
        """Draw a dashed vertical line at ``step`` on the loss plot (None hides it)."""
        if step is None:
            self._marker.hide()
        else:
            self._marker.setValue(step)
            self._marker.show()

    def smoothed_loss(self) -> list[float]:
        return ema(self.loss.y)

    # drawing ------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Redraw now (the timer does this on its own; tests and screenshots call it)."""
        self._dirty = True
        self._redraw_if_dirty()

    def _redraw_if_dirty(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        x, y = self.loss.arrays()
        self._raw_item.setData(x, y, connect="finite")
        self._smooth_item.setData(x, np.asarray(self.smoothed_loss(), dtype=float), connect="finite")
        self._eval_item.setData(*self.eval_loss.arrays())
        self._lr_item.setData(*self.learning_rate.arrays())
        self._grad_item.setData(*self.grad_norm.arrays())
        self._speed_item.setData(*self.tokens_per_s.arrays())
        self._fit_y(self.loss_plot, self.loss.y + self.eval_loss.y)
        self._fit_y(self.lr_plot, self.learning_rate.y)
        self._fit_y(self.grad_plot, self.grad_norm.y)
        self._fit_y(self.speed_plot, self.tokens_per_s.y)
        if not self._step_range:
            self._set_x_top(nice_ceiling(max(self.loss.x)) if self.loss.x else 10)

    def _fit_y(self, plot, values: list[float]) -> None:
        finite = [v for v in values if math.isfinite(v)]
        top = nice_ceiling(max(finite) * 1.05) if finite else 1.0
        if self._y_tops.get(id(plot)) != top:
            self._y_tops[id(plot)] = top
            plot.setYRange(0, top, padding=0)
