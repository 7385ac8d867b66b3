"""What every page shares: the workspace and the signals pages use to tell each other news."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal

from ift_desktop.core.workspace import Workspace


class AppContext(QObject):
    datasets_changed = Signal()  # a dataset was saved or deleted
    runs_changed = Signal()  # a run started, finished or was deleted
    evaluations_changed = Signal()  # an evaluation was saved
    navigate = Signal(str)  # ask the main window to show a page: "data", "playground", "train", "evaluate", "runs",
    #                         "metric_lab"
    metric_lab_requested = Signal(str, list)  # show these texts in the Metric lab: candidate, references
    status_message = Signal(str)  # a short note for the status bar

    def __init__(self, workspace: Workspace | None = None, settings: QSettings | None = None):
        super().__init__()
        self.workspace = workspace or Workspace()
        self.settings = settings or QSettings("IFT Desktop", "IFT Desktop")
