"""The one place where unexpected errors become a dialog a person can act on.

``install_excepthooks(window)`` routes ``sys.excepthook`` and ``threading.excepthook`` here.
Errors raised in worker threads are marshalled to the UI thread through a queued signal.
Expected failures (``UserError``) never come here: pages show them inline.
"""

from __future__ import annotations

import platform
import sys
import threading
import traceback

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
)


def diagnostics_text(details: str) -> str:
    from ift_desktop.ui.about import version_rows

    versions = "\n".join(f"{name}: {version}" for name, version in version_rows())
    return f"{details.rstrip()}\n\n--- environment ---\nplatform: {platform.platform()}\n{versions}\n"


class ErrorDialog(QDialog):
    def __init__(self, summary: str, details: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Something went wrong")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        headline = QLabel(
            "<b>IFT Desktop hit an unexpected problem.</b><br>"
            "Your datasets and runs on disk are safe: they are only ever replaced whole. "
            "You can keep working; if it happens again, copy the diagnostics and send them to us."
        )
        headline.setWordWrap(True)
        layout.addWidget(headline)
        self.summary_label = QLabel(summary)
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.summary_label)
        self.toggle = QToolButton()
        self.toggle.setText("Show details")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.RightArrow)
        layout.addWidget(self.toggle)
        self.details = QPlainTextEdit(diagnostics_text(details))
        self.details.setReadOnly(True)
        self.details.setMinimumHeight(220)
        self.details.hide()
        layout.addWidget(self.details)
        self.toggle.toggled.connect(self._fold)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        self.copy_button = QPushButton("Copy diagnostics")
        buttons.addButton(self.copy_button, QDialogButtonBox.ActionRole)
        self.copy_button.clicked.connect(self.copy_diagnostics)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)

    def _fold(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.toggle.setText("Hide details" if shown else "Show details")
        self.toggle.setArrowType(Qt.DownArrow if shown else Qt.RightArrow)
        self.adjustSize()

    def copy_diagnostics(self) -> None:
        QGuiApplication.clipboard().setText(self.details.toPlainText())
        self.copy_button.setText("Copied")


class _ErrorRelay(QObject):
    error = Signal(str, str)


class ErrorReporter(QObject):
    """Owns the excepthooks; shows one dialog at a time and collapses repeats."""

    def __init__(self, parent_window=None):
        super().__init__()
        self._window = parent_window
        self._relay = _ErrorRelay()
        self._relay.error.connect(self.show_error, Qt.QueuedConnection)
        self._open = False
        self.shown: list[str] = []

    def install(self) -> None:
        from ift_desktop.ui import workers

        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook
        workers.unexpected_error_handler = lambda exc: self.report(type(exc), exc, exc.__traceback__)

    def _sys_hook(self, exc_type, exc, tb) -> None:
        self.report(exc_type, exc, tb)

    def _thread_hook(self, args) -> None:
        if args.exc_type is SystemExit:
            return
        self.report(args.exc_type, args.exc_value, args.exc_traceback)

    def report(self, exc_type, exc, tb) -> None:
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        self._relay.error.emit(f"{exc_type.__name__}: {exc}", details)

    def show_error(self, summary: str, details: str) -> None:
        self.shown.append(summary)
        sys.stderr.write(details)
        if self._open:
            return
        self._open = True
        try:
            dialog = ErrorDialog(summary, details, self._window)
            if QGuiApplication.platformName() == "offscreen":
                dialog.show()  # tests inspect it; no modal loop without a screen
            else:
                dialog.exec()
        finally:
            self._open = False
