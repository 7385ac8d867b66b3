"""The main window: a sidebar of steps and a stack of pages. It only assembles; pages do the work."""

from __future__ import annotations

import importlib

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

from ift_desktop.ui.about import show_about
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.getting_started import show_getting_started
from ift_desktop.ui.status import DeviceStatus

# (key, sidebar label, module, class, tooltip)
PAGES = [
    (
        "data",
        "1  Data",
        "ift_desktop.ui.pages.data",
        "DataPage",
        "Turn a dataset into an instruction dataset: source, columns, template, split, statistics.",
    ),
    (
        "playground",
        "2  Playground",
        "ift_desktop.ui.pages.playground",
        "PlaygroundPage",
        "Zero-, one- and few-shot prompting on the base model before paying for fine-tuning.",
    ),
    (
        "train",
        "3  Train",
        "ift_desktop.ui.pages.train",
        "TrainPage",
        "Fine-tune the model (LoRA or full) and watch the loss live.",
    ),
    (
        "evaluate",
        "4  Evaluate",
        "ift_desktop.ui.pages.evaluate",
        "EvaluatePage",
        "ROUGE and BLEU, base vs fine-tuned, with the matching words highlighted.",
    ),
    (
        "runs",
        "5  Runs",
        "ift_desktop.ui.pages.runs",
        "RunsPage",
        "Every run kept in the workspace: compare, reopen, export.",
    ),
    (
        "metric_lab",
        "6  Metric lab",
        "ift_desktop.ui.pages.metric_lab",
        "MetricLabPage",
        "Try ROUGE and BLEU on texts of your own and see why they score as they do.",
    ),
]


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext | None = None):
        super().__init__()
        from ift_desktop.core.libraries import warm_up

        warm_up()  # before any page starts a worker (see core/libraries.py)
        self.context = context or AppContext()
        self.setWindowTitle("IFT Desktop")
        self.resize(1280, 800)
        self.pages: dict[str, QWidget] = {}

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("Sidebar")
        self.sidebar.setFixedWidth(184)
        self.sidebar.setIconSize(QSize(20, 20))
        self.stack = QStackedWidget()
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        for key, label, module_name, class_name, tooltip in PAGES:
            page_class = getattr(importlib.import_module(module_name), class_name)
            page = page_class(self.context)
            page.setObjectName(f"page-{key}")
            self.pages[key] = page
            self.stack.addWidget(page)
            item = QListWidgetItem(label)
            item.setData(Qt.UserRole, key)
            item.setToolTip(tooltip)
            item.setSizeHint(QSize(170, 44))
            self.sidebar.addItem(item)
        self.sidebar.currentRowChanged.connect(self._on_row_changed)
        self.context.navigate.connect(self.show_page)

        self.device_status = DeviceStatus(self)
        self.statusBar().addPermanentWidget(self.device_status)
        self.workspace_label = QLabel(f"Workspace: {self.context.workspace.root}")
        self.statusBar().addWidget(self.workspace_label)
        self.context.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))

        self._build_menus()
        self._restore_state()
        if self.sidebar.currentRow() < 0:
            self.sidebar.setCurrentRow(0)

    # navigation -------------------------------------------------------------------------------
    def show_page(self, key: str) -> None:
        for row in range(self.sidebar.count()):
            if self.sidebar.item(row).data(Qt.UserRole) == key:
                self.sidebar.setCurrentRow(row)
                return

    def current_page_key(self) -> str:
        item = self.sidebar.currentItem()
        return item.data(Qt.UserRole) if item else ""

    def _on_row_changed(self, row: int) -> None:
        if row >= 0:
            self.stack.setCurrentIndex(row)
            page = self.stack.widget(row)
            if hasattr(page, "on_shown"):
                page.on_shown()

    # menus ------------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&Go")
        for index, (key, label, *_rest) in enumerate(PAGES):
            action = QAction(label.split(maxsplit=1)[1], self)
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _=False, k=key: self.show_page(k))
            view_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        getting_started = QAction("&Getting started", self)
        getting_started.setShortcut(QKeySequence.HelpContents)
        getting_started.triggered.connect(lambda: show_getting_started(self))
        help_menu.addAction(getting_started)
        scores_help = QAction("What do these &scores mean?", self)
        scores_help.setToolTip("Open the Metric lab: ROUGE and BLEU on texts you type, explained")
        scores_help.triggered.connect(lambda: self.show_page("metric_lab"))
        help_menu.addAction(scores_help)
        about = QAction("&About IFT Desktop", self)
        about.triggered.connect(lambda: show_about(self))
        help_menu.addAction(about)

    # state ------------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        settings = self.context.settings
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        page = settings.value("window/page")
        if isinstance(page, str) and page in self.pages:
            self.show_page(page)

    def _save_state(self) -> None:
        settings = self.context.settings
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/page", self.current_page_key())
        settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        for page in self.pages.values():
            confirm = getattr(page, "confirm_close", None)
            if confirm is not None and not confirm():
                event.ignore()
                return
        for key, page in self.pages.items():
            shutdown = getattr(page, "shutdown", None)
            if shutdown is not None:
                # a training step plus a checkpoint can take most of a minute on a CPU
                shutdown(60000 if key == "train" else 10000)
        self._save_state()
        self.device_status.shutdown()
        event.accept()
