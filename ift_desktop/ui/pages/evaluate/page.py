"""The Evaluate page: "did the fine-tuning help, where, and why does the score say so?".

Top: what to evaluate (a run and/or the base model on a prepared split) or which stored evaluations
to open, plus the exports. Then two tabs: *Overview* (metric cards, the bar chart base vs fine-tuned
with 95 % intervals, the paired test in words, the BLEU signature) and *Examples* (the sortable,
filterable table above the detail view with the highlighted overlaps and the explanation).
A third tab, *Forgetting* (forgetting.py), checks what the fine-tuning cost on held-out tasks.
Generation, loading, statistics and exports run in workers; expected failures show inline.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QFrame, QLabel, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ift_desktop.core.evaluation.pairing import open_comparison, pair_paths, run_evaluations
from ift_desktop.core.evaluation.report import Comparison
from ift_desktop.core.training.run_folder import RunFolder
from ift_desktop.core.training.run_record import recorded_data_dir
from ift_desktop.ui.task_runner import TaskRunner
from ift_desktop.ui.widgets.folders import last_folder, remember_folder
from ift_desktop.ui.widgets.messages import InlineMessage
from ift_desktop.ui.widgets.task_progress import TaskProgress
from ift_desktop.ui.workers import TaskHandle

from .detail import DetailView
from .examples import ExamplesPanel
from .forgetting import ForgettingTab
from .jobs import export_report, summarize_comparison
from .setup_panel import SetupPanel
from .summary import SummaryView


class EvaluatePage(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.comparison: Comparison | None = None
        self.summary_stats: dict | None = None
        self._opened_once = False
        self._after_task = None  # what to start once the running task has ended

        title = QLabel("Evaluate")
        title.setObjectName("PageTitle")
        self.setup = SetupPanel(context)
        self.message = InlineMessage()
        self.progress = TaskProgress()
        self.summary = SummaryView()
        self.examples = ExamplesPanel()
        self.detail = DetailView()
        self.empty = QLabel(
            "No evaluation open. Pick a fine-tuned run and/or the base model and a prepared dataset, then "
            "<b>Run evaluation</b> — or open a stored evaluation."
        )
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setStyleSheet("color: #667085; font-size: 11pt; padding: 40px;")

        examples_split = QSplitter(Qt.Vertical)
        examples_split.addWidget(self.examples)
        examples_split.addWidget(self.detail)
        examples_split.setChildrenCollapsible(False)
        examples_split.setStretchFactor(0, 2)
        examples_split.setStretchFactor(1, 3)
        examples_split.setSizes([210, 330])
        overview = QWidget()  # the empty note until an evaluation is open, so the Forgetting tab is always reachable
        overview_layout = QVBoxLayout(overview)
        overview_layout.setContentsMargins(0, 0, 0, 0)
        overview_layout.addWidget(self.empty, 1)
        overview_layout.addWidget(self.summary, 1)
        self.summary.hide()
        self.forgetting = ForgettingTab(context, setup=self.setup)
        self.tabs = QTabWidget()
        self.tabs.addTab(overview, "Overview")
        self.tabs.addTab(examples_split, "Examples")
        forgetting_scroll = QScrollArea()  # the check's settings and results scroll rather than heighten the window
        forgetting_scroll.setWidgetResizable(True)
        forgetting_scroll.setFrameShape(QFrame.NoFrame)
        forgetting_scroll.setWidget(self.forgetting)
        self.tabs.addTab(forgetting_scroll, "Forgetting")
        self.tabs.setCornerWidget(self.setup.export_bar, Qt.TopRightCorner)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(self.setup)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(self.tabs, 1)

        self.setup.run_requested.connect(self.start_evaluation)
        self.setup.open_requested.connect(lambda: self.open_evaluations(*self.setup.stored_choice()))
        self.setup.export_requested.connect(self._ask_export)
        self.runner = TaskRunner(
            self,
            progress=self.progress,
            message=self.message,
            cancelled_text="Cancelled; nothing half-written was kept.",
        )
        self.runner.busy_changed.connect(self._on_busy_changed)
        self.stats_runner = TaskRunner(self)  # confidence intervals, in the background of an open comparison
        self.examples.example_selected.connect(self.detail.show_row)
        self.detail.open_in_lab_requested.connect(self.context.metric_lab_requested)

    # opening ------------------------------------------------------------------------------------
    def on_shown(self) -> None:
        """First time the page is shown: open the newest stored evaluation (with its partner).
        Coming from Train's "Evaluate this run": preselect that run and the dataset it trained on."""
        self._preselect_requested_run()
        if self._opened_once or self.comparison is not None or self.is_busy():
            return
        self._opened_once = True
        base, tuned = self.setup.latest_pair()
        if base or tuned:
            self.open_evaluations(base, tuned)

    def _preselect_requested_run(self) -> None:
        if self.is_busy():
            return  # the request waits for the running task; the page is shown again later
        requested = self.context.take_run_to_evaluate()
        if not requested:
            return
        self.setup.refresh_runs()
        index = self.setup.run_combo.findData(str(requested))
        if index < 0:
            return
        self.setup.run_combo.setCurrentIndex(index)
        data_dir = recorded_data_dir(RunFolder(requested).record_or_none() or {})
        if data_dir:
            self.setup.refresh_datasets()
            data_index = self.setup.dataset_combo.findData(str(data_dir))
            if data_index >= 0:
                self.setup.dataset_combo.setCurrentIndex(data_index)
        self._opened_once = True  # don't replace the choice with the newest stored evaluation
        self.message.show_info(
            f"Run '{Path(requested).name}' selected. Press Run evaluation to compare it with its base model."
        )

    def open_evaluations(self, base: str | Path | None, tuned: str | Path | None) -> TaskHandle | None:
        if self.is_busy():
            return None
        if not base and not tuned:
            self.message.show_info("Choose a stored base evaluation, a fine-tuned one, or both, then press Open.")
            return None
        self.setup.select_stored(base, tuned)
        return self.runner.start(
            open_comparison,
            base=base,
            tuned=tuned,
            progress_text="Opening the evaluation",
            on_done=self.show_comparison,
        )

    def show_comparison(self, comparison: Comparison) -> None:
        """Show a loaded comparison and start its statistics in the background."""
        self.comparison = comparison
        self.summary_stats = None
        self.message.clear()
        self.empty.hide()
        self.summary.show()
        self.summary.show_comparison(comparison, None)
        self.detail.set_comparison(comparison)
        self.examples.set_comparison(comparison)
        self.setup.set_exportable(True)
        self.stats_runner.start(
            summarize_comparison, comparison, on_done=self._on_stats, on_failed=self._on_stats_failed
        )

    def _on_stats_failed(self, text: str) -> None:
        self.message.show_warning(f"Confidence intervals could not be computed: {text}")

    def _on_stats(self, result: tuple) -> None:
        comparison, stats = result
        if comparison is self.comparison:
            self.summary_stats = stats
            self.summary.show_comparison(comparison, stats)

    # running ------------------------------------------------------------------------------------
    def start_evaluation(self) -> TaskHandle | None:
        if self.is_busy():
            return None
        jobs = self.setup.jobs()
        data_dir = self.setup.dataset()
        if not jobs:
            self.message.show_warning("Nothing to evaluate: pick a fine-tuned run, tick the base model, or both.")
            return None
        if not data_dir:
            self.message.show_warning("No prepared dataset: prepare one on the Data page, then pick it here.")
            return None
        split = self.setup.split_combo.currentText()
        run = self.setup.run_name()
        paths = pair_paths(self.context.workspace, jobs, data_dir, split, run)
        limit = self.setup.limit.value() or None
        return self.runner.start(
            run_evaluations,
            progress_text="Evaluating",
            on_done=self._on_evaluated,
            jobs=jobs,
            data_dir=data_dir,
            split=split,
            limit=limit,
            max_new_tokens=self.setup.max_new_tokens.value(),
            paths=paths,
        )

    def _on_evaluated(self, written: dict) -> None:
        self.context.evaluations_changed.emit()
        self.context.status_message.emit("Evaluation saved: " + ", ".join(Path(p).name for p in written.values()))
        self._after_task = lambda: self.open_evaluations(written.get("base"), written.get("tuned"))

    # exports ------------------------------------------------------------------------------------
    def _ask_export(self, kind: str) -> None:
        if self.comparison is None:
            return
        suffix = ".csv" if kind == "csv" else ".html"
        folder = last_folder(self.context.settings, "export", self.context.workspace.root)
        default = str(Path(folder) / f"{self._report_name()}{suffix}")
        name_filter = "CSV (*.csv)" if kind == "csv" else "HTML report (*.html)"
        path, _chosen = QFileDialog.getSaveFileName(self, "Export the evaluation", default, name_filter)
        if path:
            if not path.lower().endswith(suffix):
                path += suffix
            remember_folder(self.context.settings, "export", path)
            self.export_to(path)

    def export_to(self, path: str | Path) -> TaskHandle | None:
        if self.comparison is None or self.is_busy():
            return None
        return self.runner.start(
            export_report,
            self.comparison,
            str(path),
            self.summary_stats,
            progress_text=f"Exporting {Path(path).name}",
            on_done=self._on_exported,
        )

    def _on_exported(self, path) -> None:
        self.message.show_success(f"Saved {path}")

    def _report_name(self) -> str:
        names = [self.comparison.evaluation(s).name for s in self.comparison.sides]
        return names[-1]

    # workers ------------------------------------------------------------------------------------
    def _on_busy_changed(self, busy: bool) -> None:
        self.setup.set_busy(busy)
        if not busy:
            follow_up, self._after_task = self._after_task, None
            if follow_up is not None:
                follow_up()

    @property
    def _task(self) -> TaskHandle | None:
        return self.runner.task

    def is_busy(self) -> bool:
        return self.runner.is_busy()

    def cancel(self) -> None:
        self.runner.cancel()

    def confirm_close(self) -> bool:
        self.forgetting.confirm_close()
        self.runner.shutdown(3000)
        self.stats_runner.shutdown(3000)
        return True
