"""The top of the Evaluate page: what to evaluate (a run and/or the base model, a dataset split, limits)
and which stored evaluations to open. Only widgets and choices; the page starts the work.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from ift_desktop.core.evaluation.pairing import base_model_of_run

NO_RUN = ""


class SetupPanel(QWidget):
    run_requested = Signal()
    open_requested = Signal()
    export_requested = Signal(str)  # "csv" or "html"

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.run_combo = QComboBox()
        self.run_combo.setToolTip("A finished training run; its fine-tuned model answers the test prompts")
        self.base_check = QCheckBox("Base model")
        self.base_check.setChecked(True)
        self.base_check.setToolTip("Also evaluate the model before fine-tuning, to see what the fine-tuning changed")
        self.base_model = QComboBox()
        self.base_model.setEditable(True)
        self.base_model.setToolTip(
            "'builtin' (SmolLM2-135M-Instruct), a Hugging Face Hub id, or a model folder; "
            "set to the run's base model when you pick a run"
        )
        self.base_model.addItem("builtin")
        self.dataset_combo = QComboBox()
        self.dataset_combo.setToolTip("A dataset prepared on the Data page")
        self.dataset_combo.setPlaceholderText("none yet")
        self.split_combo = QComboBox()
        self.split_combo.addItems(["test", "validation", "train"])
        self.split_combo.setToolTip("Evaluate on held-out examples (test) unless you know why not")
        self.limit = QSpinBox()
        self.limit.setRange(0, 100000)
        self.limit.setValue(40)
        self.limit.setSpecialValueText("all")
        self.limit.setToolTip("How many examples of the split to evaluate (0 = all); generation takes time on a CPU")
        self.max_new_tokens = QSpinBox()
        self.max_new_tokens.setRange(1, 4096)
        self.max_new_tokens.setValue(64)
        self.max_new_tokens.setToolTip("The most tokens each answer may have; answers are greedy (deterministic)")
        self.run_button = QPushButton("Run evaluation")
        self.run_button.setDefault(True)
        self.run_button.setToolTip("Generate with the chosen models on the split, score, and save the results")

        self.stored_base = QComboBox()
        self.stored_tuned = QComboBox()
        for combo in (self.stored_base, self.stored_tuned, self.run_combo, self.dataset_combo):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
            combo.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.dataset_combo.setMinimumContentsLength(8)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Show the chosen stored evaluations")
        self.csv_button = QPushButton("Export CSV…")
        self.html_button = QPushButton("Export HTML report…")
        self.csv_button.setEnabled(False)
        self.html_button.setEnabled(False)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        grid.addWidget(self._label("New\nevaluation"), 0, 0, 2, 1, Qt.AlignTop)
        row = QHBoxLayout()
        row.addWidget(QLabel("Fine-tuned run"))
        row.addWidget(self.run_combo, 3)
        row.addSpacing(8)
        row.addWidget(self.base_check)
        row.addWidget(self.base_model, 2)
        row.addSpacing(8)
        row.addWidget(self.run_button)
        grid.addLayout(row, 0, 1)
        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(QLabel("Dataset"))
        row.addWidget(self.dataset_combo, 1)
        row.addSpacing(6)
        row.addWidget(QLabel("Split"))
        row.addWidget(self.split_combo)
        row.addSpacing(6)
        row.addWidget(QLabel("Examples"))
        row.addWidget(self.limit)
        row.addSpacing(6)
        row.addWidget(QLabel("Max new tokens"))
        row.addWidget(self.max_new_tokens)
        grid.addLayout(row, 1, 1)
        grid.addWidget(self._label("Open\nstored"), 2, 0, Qt.AlignTop)
        row = QHBoxLayout()
        row.addWidget(QLabel("Base"))
        row.addWidget(self.stored_base, 1)
        row.addWidget(QLabel("Fine-tuned"))
        row.addWidget(self.stored_tuned, 1)
        row.addWidget(self.open_button)
        grid.addLayout(row, 2, 1)
        # the export buttons sit where the page puts them (beside the result tabs), not in a row of their own
        self.export_bar = QWidget()
        row = QHBoxLayout(self.export_bar)
        row.setContentsMargins(0, 0, 0, 2)
        row.addWidget(self.csv_button)
        row.addWidget(self.html_button)
        grid.setColumnStretch(1, 1)

        self.run_combo.currentIndexChanged.connect(self._on_run_changed)
        self.base_check.toggled.connect(self.base_model.setEnabled)
        self.run_button.clicked.connect(self.run_requested)
        self.open_button.clicked.connect(self.open_requested)
        self.csv_button.clicked.connect(lambda: self.export_requested.emit("csv"))
        self.html_button.clicked.connect(lambda: self.export_requested.emit("html"))
        self.stored_base.currentIndexChanged.connect(lambda _i: self._pick_partner(self.stored_base, self.stored_tuned))
        self.stored_tuned.currentIndexChanged.connect(
            lambda _i: self._pick_partner(self.stored_tuned, self.stored_base)
        )
        context.runs_changed.connect(self.refresh_runs)
        context.datasets_changed.connect(self.refresh_datasets)
        context.evaluations_changed.connect(self.refresh_evaluations)
        self.refresh_runs()
        self.refresh_datasets()
        self.refresh_evaluations()

    @staticmethod
    def _label(text: str) -> QLabel:
        label = QLabel(text)
        label.setStyleSheet("font-weight: 600; color: #344054;")
        return label

    # lists --------------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        current = self.run_combo.currentData()
        self.run_combo.blockSignals(True)
        self.run_combo.clear()
        self.run_combo.addItem("(none — base model only)", NO_RUN)
        for item in self.context.workspace.list_runs():
            status = str((item.summary or {}).get("status") or "")
            self.run_combo.addItem(f"{item.name}  ({status})" if status else item.name, str(item.path))
        index = self.run_combo.findData(current) if current else -1
        self.run_combo.setCurrentIndex(index if index >= 0 else min(1, self.run_combo.count() - 1))
        self.run_combo.blockSignals(False)
        self._on_run_changed()

    def refresh_datasets(self) -> None:
        current = self.dataset_combo.currentData()
        self.dataset_combo.blockSignals(True)
        self.dataset_combo.clear()
        for item in self.context.workspace.list_datasets():
            counts = (item.summary or {}).get("counts") or {}
            test = counts.get("test")
            self.dataset_combo.addItem(f"{item.name}  ({test} test)" if test is not None else item.name, str(item.path))
        index = self.dataset_combo.findData(current) if current else -1
        if index < 0 and self.dataset_combo.count():
            index = 0  # the newest dataset
        self.dataset_combo.setCurrentIndex(index)
        self.dataset_combo.blockSignals(False)

    def refresh_evaluations(self) -> None:
        items = self.context.workspace.list_evaluations()
        for combo, role in ((self.stored_base, "base"), (self.stored_tuned, "tuned")):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("(none)", "")
            for item in items:
                summary = item.summary or {}
                item_role = (summary.get("comparison") or {}).get("role") or ("tuned" if summary.get("run") else "base")
                mark = "" if item_role == role else "  ⟨" + ("fine-tuned" if item_role == "tuned" else "base") + "⟩"
                combo.addItem(f"{item.name}{mark}", str(item.path))
            index = combo.findData(current) if current else -1
            combo.setCurrentIndex(max(index, 0))
            combo.blockSignals(False)
        self._items = {str(item.path): item for item in items}

    @staticmethod
    def _role(item) -> str:
        summary = item.summary or {}
        return (summary.get("comparison") or {}).get("role") or ("tuned" if summary.get("run") else "base")

    def _partner(self, item, items) -> str | None:
        """The evaluation to compare ``item`` with: its saved partner, else the newest of the other role
        made on the same dataset split with the same number of examples (as `ift-desktop evaluate` writes)."""
        summary = item.summary or {}
        partner = (summary.get("comparison") or {}).get("partner")
        if partner:
            path = Path(item.path).with_name(f"{partner}.json")
            return str(path) if path.exists() else None
        data = summary.get("data") or {}
        key = (data.get("dir"), summary.get("split"), data.get("n_examples"))
        if key[0] is None:
            return None
        role = self._role(item)
        for other in items:  # newest first
            other_data = (other.summary or {}).get("data") or {}
            other_key = (other_data.get("dir"), (other.summary or {}).get("split"), other_data.get("n_examples"))
            if other is not item and self._role(other) != role and other_key == key:
                return str(other.path)
        return None

    def _pick_partner(self, chosen: QComboBox, other: QComboBox) -> None:
        items = getattr(self, "_items", {})
        item = items.get(chosen.currentData() or "")
        if item is None:
            return
        partner = self._partner(item, list(items.values()))
        index = other.findData(partner) if partner else -1
        if index >= 0:
            other.blockSignals(True)
            other.setCurrentIndex(index)
            other.blockSignals(False)

    def select_stored(self, base: str | Path | None, tuned: str | Path | None) -> None:
        for combo, path in ((self.stored_base, base), (self.stored_tuned, tuned)):
            index = combo.findData(str(path)) if path else 0
            combo.blockSignals(True)
            combo.setCurrentIndex(max(index, 0))
            combo.blockSignals(False)

    def latest_pair(self) -> tuple[str | None, str | None]:
        """The newest stored evaluation and its partner, as (base path, tuned path)."""
        items = self.context.workspace.list_evaluations()
        if not items:
            return None, None
        newest = items[0]
        role = self._role(newest)
        pair = {role: str(newest.path), ("tuned" if role == "base" else "base"): self._partner(newest, items)}
        return pair.get("base"), pair.get("tuned")

    # choices ------------------------------------------------------------------------------------
    def _on_run_changed(self) -> None:
        run = self.run_combo.currentData()
        if run:
            base = base_model_of_run(run)
            if self.base_model.findText(base) < 0:
                self.base_model.addItem(base)
            self.base_model.setCurrentText(base)

    def jobs(self) -> list[tuple[str, str]]:
        jobs = []
        if self.base_check.isChecked() and self.base_model.currentText().strip():
            jobs.append(("base", self.base_model.currentText().strip()))
        if self.run_combo.currentData():
            jobs.append(("tuned", self.run_combo.currentData()))
        return jobs

    def dataset(self) -> str | None:
        return self.dataset_combo.currentData() or None

    def run_name(self) -> str:
        """The chosen run's folder name, or "" for the base model alone."""
        run = self.run_combo.currentData()
        return Path(run).name if run else ""

    def stored_choice(self) -> tuple[str | None, str | None]:
        return self.stored_base.currentData() or None, self.stored_tuned.currentData() or None

    def set_busy(self, busy: bool) -> None:
        for widget in (self.run_button, self.open_button, self.run_combo, self.dataset_combo):
            widget.setEnabled(not busy)

    def set_exportable(self, exportable: bool) -> None:
        self.csv_button.setEnabled(exportable)
        self.html_button.setEnabled(exportable)
