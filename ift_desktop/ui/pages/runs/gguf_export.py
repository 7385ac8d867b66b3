"""The Runs page's GGUF export: one file for llama.cpp, LM Studio and Ollama, checked before hand-over.

Selecting a run tells at once whether its model can become GGUF (a T5 run cannot, and the panel says
so before any work). Export runs in a worker with progress and cancel; afterwards the panel shows the
round trip (how many probe answers the file gives exactly as the merged model) and the two Ollama
commands, which can be copied.
"""

from __future__ import annotations

import html
import shlex
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.errors import ExportError
from ift_desktop.core.export.gguf_export import export_gguf
from ift_desktop.core.export.support import check_gguf_support
from ift_desktop.ui.task_runner import runner_with_feedback

QUANT_CHOICES = [
    ("f16 — same answers as in the app", "f16"),
    ("q8_0 — about half the size", "q8_0"),
]


def _mb(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size >= 10e6 else f"{size / 1e6:.1f} MB"


class GgufExportPanel(QWidget):
    """Export the selected run as GGUF + Modelfile; shows the round trip and the Ollama commands."""

    started = Signal()  # an export began (the page brings this panel to the front)

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.summary = None
        self.export = None
        self._selected = None

        title = QLabel("<b>Use it in llama.cpp, LM Studio or Ollama</b>")
        self.quant = QComboBox()
        for label, value in QUANT_CHOICES:
            self.quant.addItem(label, value)
        self.quant.setToolTip(
            "f16 keeps the weights as they are (answers identical to the app); q8_0 rounds them "
            "to 8 bits: about half the file size, answers close but not always identical."
        )
        self.export_button = QPushButton("Export GGUF…")
        self.export_button.setToolTip(
            "Write one .gguf file with the tokenizer and chat template inside, an Ollama "
            "Modelfile beside it, then read the file back and check its answers."
        )
        self.export_button.clicked.connect(self._choose_and_export)
        row = QHBoxLayout()
        row.addWidget(self.quant, 1)
        row.addWidget(self.export_button)

        self.message, self.progress, self.runner = runner_with_feedback(
            self, doing="exporting GGUF", cancelled_text="GGUF export cancelled; nothing was written."
        )
        self.runner.busy_changed.connect(self._on_busy_changed)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.RichText)
        self.result.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.copy_button = QPushButton("Copy Ollama commands")
        self.copy_button.clicked.connect(self._copy_commands)
        self.copy_button.hide()
        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(self._open_folder)
        self.open_button.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)

        explain = QLabel(
            "One .gguf file with the tokenizer and the chat template inside, and an Ollama Modelfile beside it. "
            "After writing, the file is read back and asked the run's probe prompts, to check it answers as here."
        )
        explain.setObjectName("Hint")
        explain.setWordWrap(True)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(title)
        layout.addWidget(explain)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(self.result)
        layout.addLayout(buttons)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.set_run(None)

    # selection ---------------------------------------------------------------------------------
    def set_run(self, summary, *, keep_outcome: bool = False) -> None:
        """Show whether the selected run can be exported (None: no single run selected);
        ``keep_outcome`` leaves the last export's message and result in view."""
        self._selected = summary
        if self.task is not None:  # applied when the running export ends
            return
        changed = summary is None or self.summary is None or summary.path != self.summary.path
        self.summary = summary
        if changed and not keep_outcome:
            self.message.clear()
            self.result.clear()
            self.copy_button.hide()
            self.open_button.hide()
        supported = summary is not None
        if summary is not None:
            try:
                check_gguf_support(summary.path, allow_download=False)
            except ExportError as exc:
                supported = False
                self.message.show_info(f"GGUF export is not available for this run: {exc.one_line()}")
        self.export_button.setEnabled(supported)
        self.quant.setEnabled(supported)

    # export ------------------------------------------------------------------------------------
    def _choose_and_export(self) -> None:
        if self.summary is None:
            return
        quant = self.quant.currentData()
        folder = self.context.workspace.root / "exports"
        folder.mkdir(parents=True, exist_ok=True)  # so the dialog opens there
        suggestion = str(folder / f"{self.summary.name}-{quant}.gguf")
        path, _ = QFileDialog.getSaveFileName(self, "Save the GGUF file as", suggestion, "GGUF model (*.gguf)")
        if path:
            if not path.lower().endswith(".gguf"):
                path += ".gguf"
            self.start_export(path, quant)

    def start_export(self, path: str | Path, quant: str):
        self.result.clear()
        self.copy_button.hide()
        self.open_button.hide()
        self.started.emit()
        return self.runner.start(
            export_gguf,
            self.summary.path,
            Path(path),
            quant=quant,
            progress_text="Preparing the GGUF export…",
            on_done=self._show_result,
        )

    def _on_busy_changed(self, busy: bool) -> None:
        if busy:
            self.export_button.setEnabled(False)
            self.quant.setEnabled(False)
        else:
            self.set_run(self._selected, keep_outcome=True)

    @property
    def task(self):
        """The running export, or None."""
        return self.runner.task

    def cancel(self) -> None:
        self.runner.cancel()

    def shutdown(self, timeout_ms: int) -> None:
        self.runner.shutdown(timeout_ms)

    # result ------------------------------------------------------------------------------------
    def _show_result(self, export) -> None:
        self.export = export
        trip = export.round_trip
        if trip.all_identical:
            self.message.show_success(
                f"Exported {export.path.name} ({_mb(export.size_bytes)}). Checked: read back, it answers all "
                f"{trip.total} probe prompts exactly as the model in the app; chat template and end-of-turn token "
                "are in the file."
            )
        else:
            self.message.show_warning(
                f"Exported {export.path.name} ({_mb(export.size_bytes)}, {export.quant}). Read back, it answers "
                f"{trip.identical} of {trip.total} probe prompts exactly as the model in the app; rounding the "
                "weights to 8 bits changed the others (shown below). Chat template and end-of-turn token are in the file."
            )
        rows = "".join(self._answer_row(row) for row in trip.answers)
        commands = "<br>".join(f"<code>{html.escape(c)}</code>" for c in export.ollama_commands)
        note = f"<p style='color:#8a5300'>{html.escape(export.modelfile.note)}</p>" if export.modelfile.note else ""
        self.result.setText(
            f"<table>{rows}</table>{note}<p>To run it in Ollama, open a terminal in the export folder and type:"
            f"<br>{commands}</p><p style='color:#5b6472'>Saved beside the file: Modelfile and "
            f"{html.escape(export.report_path.name)} (every answer side by side).</p>"
        )
        self.result.setToolTip(str(export.path))
        self.copy_button.show()
        self.open_button.show()

    @staticmethod
    def _answer_row(row: dict) -> str:
        def short(text: str, limit: int) -> str:
            text = " ".join(text.split())
            return html.escape(text[:limit] + ("…" if len(text) > limit else ""))

        mark = "✔ same" if row["identical"] else "≠ differs"
        line = f"<tr><td style='padding-right:8px'>{mark}</td><td>{short(row['prompt'], 48)}</td></tr>"
        if not row["identical"]:
            line += (
                f"<tr><td></td><td style='color:#5b6472'>app: {short(row['merged'], 70)}<br>"
                f"file: {short(row['gguf'], 70)}</td></tr>"
            )
        return line

    def _copy_commands(self) -> None:
        if self.export is not None:
            folder = shlex.quote(str(self.export.path.parent))
            QGuiApplication.clipboard().setText("\n".join([f"cd {folder}", *self.export.ollama_commands]))

    def _open_folder(self) -> None:
        if self.export is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.export.path.parent)))
