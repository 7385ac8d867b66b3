"""Start the desktop app: QApplication, style, error hooks, the main window."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from ift_desktop.core.paths import resources_dir


def load_style() -> str:
    path = resources_dir() / "style.qss"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def create_app(argv: list[str] | None = None) -> QApplication:
    QCoreApplication.setOrganizationName("IFT Desktop")
    QCoreApplication.setApplicationName("IFT Desktop")
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setStyle("Fusion")
    app.setStyleSheet(load_style())
    icon = resources_dir() / "icons" / "ift-desktop.png"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def main() -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app = create_app()
    from ift_desktop.ui.error_dialog import ErrorReporter
    from ift_desktop.ui.main_window import MainWindow
    from ift_desktop.ui.first_run import ensure_sample_dataset

    from ift_desktop.ui.workers import shutdown_all

    app.aboutToQuit.connect(shutdown_all)
    window = MainWindow()
    reporter = ErrorReporter(window)
    reporter.install()
    window._error_reporter = reporter  # kept alive with the window
    ensure_sample_dataset(window.context)
    window.show()
    # the big imports (torch, transformers) are done: keep their objects out of the collector's
    # full passes, which otherwise pause the UI for most of a second in the middle of a run
    import gc

    gc.freeze()
    return app.exec()
