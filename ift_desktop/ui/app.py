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


def _has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return True  # offscreen, vnc, eglfs ...: the user chose it
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _splash():
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPixmap
    from PySide6.QtWidgets import QSplashScreen

    icon = resources_dir() / "icons" / "ift-desktop.png"
    pixmap = QPixmap(str(icon)) if icon.exists() else QPixmap(256, 256)
    if not icon.exists():
        pixmap.fill(QColor("#1f2a37"))
    splash = QSplashScreen(pixmap)
    splash.showMessage("Loading IFT Desktop…", Qt.AlignBottom | Qt.AlignHCenter, QColor("white"))
    splash.show()
    QApplication.processEvents()
    return splash


def main() -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not _has_display():
        print(
            "error: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open. "
            "Run IFT Desktop from a desktop session, or use the command line: ift-desktop --help.",
            file=sys.stderr,
        )
        return 2
    from ift_desktop.ui.qt_libraries import missing_libraries_message, missing_xcb_packages, qt_will_use_xcb

    if qt_will_use_xcb():
        # Qt aborts when its platform plugin cannot load and names one library at most: name them all
        libraries, packages = missing_xcb_packages()
        if libraries:
            print(missing_libraries_message(libraries, packages), file=sys.stderr)
            return 2
    app = create_app()
    splash = _splash()
    from ift_desktop.ui.error_dialog import ErrorReporter
    from ift_desktop.ui.first_run import ensure_sample_dataset
    from ift_desktop.ui.main_window import MainWindow
    from ift_desktop.ui.workers import shutdown_all

    app.aboutToQuit.connect(shutdown_all)
    window = MainWindow()
    reporter = ErrorReporter(window)
    reporter.install()
    window._error_reporter = reporter  # kept alive with the window
    ensure_sample_dataset(window.context)
    window.show()
    if splash is not None:
        splash.finish(window)
    # the big imports (torch, transformers) are done: keep their objects out of the collector's
    # full passes, which otherwise pause the UI for most of a second in the middle of a run
    import gc

    gc.freeze()
    return app.exec()
