"""What every page shares: the workspace and the signals pages use to tell each other news.

Pages hand each other data only through this object (signals, and attributes a page reads when it is
shown); ``settings`` (QSettings) keeps the user's preferences between sessions (window geometry, recent
models, last folders), never what one page made for another."""

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
        self.run_to_evaluate: str | None = None  # set by Train's "Evaluate this run", taken by the Evaluate page

    def request_evaluation(self, run_dir: str) -> None:
        """Show the Evaluate page with ``run_dir`` (and the dataset it trained on) preselected."""
        self.run_to_evaluate = str(run_dir)
        self.navigate.emit("evaluate")

    def take_run_to_evaluate(self) -> str | None:
        """The run Train asked to evaluate, once (None when there is none)."""
        run, self.run_to_evaluate = self.run_to_evaluate, None
        return run
