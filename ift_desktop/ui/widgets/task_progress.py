"""A progress line for long work: message, bar, elapsed time and a Cancel button."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


class TaskProgress(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)  # a long message wraps instead of widening the window
        self.label.setMinimumWidth(120)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(14)
        self.elapsed = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._on_cancel)
        layout.addWidget(self.label, 2)
        layout.addWidget(self.bar, 3)
        layout.addWidget(self.elapsed)
        layout.addWidget(self.cancel_button)
        self._started = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._tick)
        self.hide()

    def keep_place(self, keep: bool = True) -> None:
        """Reserve the line's height while hidden, so the page below does not jump when it appears."""
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(keep)
        self.setSizePolicy(policy)

    def start(self, message: str) -> None:
        self._started = time.monotonic()
        self.label.setText(message)
        self.bar.setRange(0, 0)  # busy until the first fraction arrives
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self._tick()
        self._timer.start()
        self.show()

    def update_progress(self, fraction, message: str) -> None:
        if message:
            self.label.setText(message)
        if fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(fraction * 1000))

    def finish(self) -> None:
        self._timer.stop()
        self.hide()

    def _on_cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.cancel_requested.emit()

    def _tick(self) -> None:
        seconds = int(time.monotonic() - self._started)
        self.elapsed.setText(f"{seconds // 60}:{seconds % 60:02d}")
