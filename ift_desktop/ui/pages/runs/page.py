"""Runs: a table of every training run, loss curves of the selected runs overlaid, the settings that
differ between them, and export of the adapter or a merged model (in a worker, with progress)."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.workspace.runs import config_differences, export_run, summarize_run
from ift_desktop.ui.pages.runs.gguf_export import GgufExportPanel
from ift_desktop.ui.task_runner import runner_with_feedback
from ift_desktop.ui.widgets.page_layout import page_column
from ift_desktop.ui.widgets.plot_parts import StepAxis, legend_above

from .settings_text import setting_html, setting_label

COLUMNS = ["Run", "Status", "Model", "Method", "Steps", "Last loss", "Best val. loss", "ROUGE-L", "Created"]
PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"]


def _fmt(value, digits=4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _smoothed(values, beta: float = 0.9) -> list[float]:
    """Bias-corrected exponential moving average, as the Train page draws it."""
    out, average = [], 0.0
    for index, value in enumerate(values, start=1):
        average = beta * average + (1 - beta) * value
        out.append(average / (1 - beta**index))
    return out


class _NumberItem(QTableWidgetItem):
    """Sorts by the number it shows, not by its text."""

    def __init__(self, value, text: str):
        super().__init__(text)
        self._value = value if value is not None else float("-inf")

    def __lt__(self, other):  # noqa: D401 - Qt API
        if isinstance(other, _NumberItem):
            return self._value < other._value
        return super().__lt__(other)


class RunsPage(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.summaries = []

        title = QLabel("Runs")
        title.setObjectName("PageTitle")
        hint = QLabel(
            "Every training run is kept in your workspace and reopens after a restart. Select one run to see its "
            "curves, several to compare them; export the LoRA adapter or a merged model that any transformers "
            "program can load."
        )
        hint.setObjectName("Hint")
        hint.setWordWrap(True)
        self.message, self.progress, self.runner = runner_with_feedback(
            self, doing="exporting", cancelled_text="Export cancelled; nothing was written."
        )
        self.runner.busy_changed.connect(lambda _busy: self._on_selection())

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.itemSelectionChanged.connect(self._on_selection)

        buttons = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh")
        self.open_button = QPushButton("Open folder")
        self.evaluate_button = QPushButton("Evaluate…")
        self.export_adapter_button = QPushButton("Export adapter…")
        self.export_merged_button = QPushButton("Export merged model…")
        self.launch_button = QPushButton("Launch command…")
        self.launch_button.setToolTip("Copy the command that starts this run on several GPUs, or write a Slurm script")
        for button in (
            self.refresh_button,
            self.open_button,
            self.evaluate_button,
            self.export_adapter_button,
            self.export_merged_button,
            self.launch_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.refresh_button.clicked.connect(self.refresh)
        self.open_button.clicked.connect(self._open_folder)
        self.evaluate_button.clicked.connect(lambda: self.context.navigate.emit("evaluate"))
        self.export_adapter_button.clicked.connect(lambda: self._export(merged=False))
        self.export_merged_button.clicked.connect(lambda: self._export(merged=True))
        self.launch_button.clicked.connect(self.open_launch_dialog)

        self.plot = pg.PlotWidget(background="w", axisItems={"bottom": StepAxis("bottom")})
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        legend_above(self.plot.plotItem, columns=2)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.RichText)
        self.details.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextSelectableByMouse)

        bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(self.plot)
        details_box = QWidget()
        details_layout = QVBoxLayout(details_box)
        details_layout.addWidget(self.details)
        details_layout.addStretch(1)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(details_box, "Details")
        self.gguf_export = GgufExportPanel(context)
        self.side_tabs.addTab(self.gguf_export, "llama.cpp / Ollama")
        self.gguf_export.started.connect(lambda: self.side_tabs.setCurrentWidget(self.gguf_export))
        bottom.addWidget(self.side_tabs)
        bottom.setSizes([600, 460])

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.table)
        top_layout.addLayout(buttons)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setSizes([300, 420])

        page_column(self, title, hint, self.message, self.progress, body=splitter)

        context.runs_changed.connect(self.refresh)
        context.evaluations_changed.connect(self.refresh)
        self.refresh()

    # data -------------------------------------------------------------------------------------
    def _latest_rouge(self) -> dict[str, float]:
        """ROUGE-L of the newest evaluation of each run (by run folder)."""
        best = {}
        for item in reversed(self.context.workspace.list_evaluations()):  # oldest first; newer overwrite
            run = item.summary.get("run")
            corpus = item.summary.get("corpus") or {}
            rouge_l = (corpus.get("rougeL") or {}).get("fmeasure")
            if run and rouge_l is not None:
                best[str(run)] = rouge_l
        return best

    def refresh(self) -> None:
        self.summaries = [summarize_run(item.path) for item in self.context.workspace.list_runs()]
        rouge = self._latest_rouge()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.summaries))
        for row, summary in enumerate(self.summaries):
            rouge_l = rouge.get(str(summary.path))
            cells = [
                QTableWidgetItem(summary.name),
                QTableWidgetItem(summary.status),
                QTableWidgetItem(summary.model),
                QTableWidgetItem(summary.method),
                _NumberItem(summary.steps, str(summary.steps)),
                _NumberItem(summary.last_loss, _fmt(summary.last_loss)),
                _NumberItem(summary.best_eval_loss, _fmt(summary.best_eval_loss)),
                _NumberItem(rouge_l, _fmt(rouge_l, 3)),
                QTableWidgetItem(summary.created[:19].replace("T", " ")),
            ]
            cells[0].setData(Qt.UserRole, row)
            for column, cell in enumerate(cells):
                self.table.setItem(row, column, cell)
        self.table.setSortingEnabled(True)
        if not self.summaries:
            self.details.setText(
                "<p>No runs yet. Prepare a dataset on <b>Data</b>, then start a run on <b>Train</b>; it appears "
                "here as soon as it starts.</p>"
            )
        elif not self.table.selectionModel().selectedRows():
            self.details.setText(
                "<p>Select a run to see its settings; select several (Ctrl+click) to compare "
                "their curves and the settings that differ.</p>"
            )
        self._on_selection()

    def selected(self):
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.summaries[self.table.item(r, 0).data(Qt.UserRole)] for r in rows]

    # views ------------------------------------------------------------------------------------
    def _on_selection(self) -> None:
        chosen = self.selected()
        one = len(chosen) == 1
        for button in (self.open_button, self.export_adapter_button, self.export_merged_button):
            button.setEnabled(one and self._task is None)
        self.launch_button.setEnabled(one)
        self.plot.clear()
        if self.plot.plotItem.legend is not None:
            self.plot.plotItem.legend.clear()
        for index, summary in enumerate(chosen):
            color = PALETTE[index % len(PALETTE)]
            if summary.curve:
                steps, losses = zip(*summary.curve)
                faint = pg.mkColor(color)
                faint.setAlpha(70)
                self.plot.plot(steps, losses, pen=pg.mkPen(faint, width=1))
                self.plot.plot(
                    steps, _smoothed(losses), pen=pg.mkPen(color, width=2.5), name=f"{summary.name} (train, smoothed)"
                )
            if summary.eval_curve:
                steps, losses = zip(*summary.eval_curve)
                self.plot.plot(
                    steps,
                    losses,
                    pen=pg.mkPen(color, width=2, style=Qt.DashLine),
                    symbol="o",
                    symbolSize=6,
                    symbolBrush=color,
                    name=f"{summary.name} (validation)",
                )
        self.gguf_export.set_run(chosen[0] if one else None)
        if one:
            self._show_details(chosen[0])
        elif len(chosen) > 1:
            self._show_differences(chosen)

    def _show_details(self, summary) -> None:
        if summary.method == "lora":
            self.export_merged_button.setEnabled(self._task is None)
        else:
            self.export_merged_button.setEnabled(False)
        keys = [
            "method",
            "learning_rate",
            "max_steps",
            "epochs",
            "batch_size",
            "grad_accum",
            "max_length",
            "lora_r",
            "lora_alpha",
            "seed",
        ]
        rows = "".join(
            f"<tr><td>{setting_label(k)}</td><td style='padding-left:10px'>{setting_html(k, summary.config[k])}</td></tr>"
            for k in keys
            if k in summary.config
        )
        self.details.setText(
            f"<h3>{summary.name}</h3><p>{summary.model} · {summary.status} · {summary.steps} steps</p>"
            f"<table>{rows}</table><p style='color:#5b6472'>{summary.path}</p>"
        )

    def _show_differences(self, chosen) -> None:
        diffs = config_differences(chosen)
        header = "".join(f"<th style='padding-left:10px'>{s.name}</th>" for s in chosen)
        body = "".join(
            f"<tr><td>{setting_label(key)}</td>"
            + "".join(f"<td style='padding-left:10px; vertical-align:top'>{setting_html(key, v)}</td>" for v in values)
            + "</tr>"
            for key, values in diffs.items()
            if key != "schema_version"
        )
        if not body:
            body = "<tr><td colspan=9>The selected runs used the same settings.</td></tr>"
        self.details.setText(f"<h3>Settings that differ</h3><table><tr><th></th>{header}</tr>{body}</table>")

    # actions ----------------------------------------------------------------------------------
    def _open_folder(self) -> None:
        chosen = self.selected()
        if chosen:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(chosen[0].path)))

    def open_launch_dialog(self):
        from .launch_dialog import LaunchDialog

        chosen = self.selected()
        if len(chosen) != 1:
            return None
        dialog = LaunchDialog(chosen[0].path, self)
        dialog.open()
        return dialog

    def _export(self, merged: bool) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            return
        summary = chosen[0]
        suffix = "merged" if merged else "adapter"
        target = QFileDialog.getExistingDirectory(self, "Export into which folder?", str(self.context.workspace.root))
        if not target:
            return
        self.start_export(summary, target, merged, f"{summary.name}-{suffix}")

    def start_export(self, summary, parent_folder, merged: bool, name: str):
        from pathlib import Path

        out_dir = Path(parent_folder) / name
        return self.runner.start(
            export_run,
            summary.path,
            out_dir,
            merged=merged,
            progress_text="Exporting…",
            on_done=lambda path: self.message.show_success(f"Exported to {path}"),
        )

    @property
    def _task(self):
        return self.runner.task

    def shutdown(self, timeout_ms: int) -> None:
        self.gguf_export.shutdown(timeout_ms)
        self.runner.shutdown(timeout_ms)
