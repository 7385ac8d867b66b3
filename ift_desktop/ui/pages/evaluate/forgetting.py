"""The Evaluate page's *Forgetting* tab: what did the fine-tuning cost on tasks it was not trained for?

Left: the run (following the run picked at the top of the page), the held-out check — preselected,
a built-in check made from what the app ships (the sample's labelled reviews, classified by the
log-likelihood of each label word), so it works with no files; as the advanced choices a labelled
classification file or Hub dataset (SST-2 and other GLUE-style sets), MMLU-style multiple choice
from a folder of MMLU CSVs the user points at (remembered in the settings), or another prepared
instruction dataset scored with ROUGE-L — the Run button, and the stored results to reopen.
Right: the verdict in words, the overall numbers base vs fine-tuned with their intervals, a bar
chart and a table per subject or class, and every stored check of other runs on the same items in
one table (single-task vs mixture side by side; the widgets in :mod:`.forgetting_views`). The work runs in :func:`ift_desktop.core.evaluation.forgetting.check_forgetting` in a worker.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.errors import UserError
from ift_desktop.core.evaluation.forgetting import (
    ClassificationCheck,
    MMLUCheck,
    TaskCheck,
    builtin_checks,
    check_forgetting,
    forgetting_dir,
    list_forgetting,
    read_forgetting,
    results_on_same_check,
)
from ift_desktop.core.evaluation.inputs import words
from ift_desktop.core.evaluation.mmlu import list_subjects, subject_title
from ift_desktop.core.evaluation.pairing import base_model_of_run
from ift_desktop.ui.task_runner import runner_with_feedback
from ift_desktop.ui.workers import TaskHandle

from .forgetting_views import (  # noqa: F401  (the views, importable from here as before)
    COLOURS,
    VERDICT_COLOURS,
    ForgettingResultView,
    NumberItem,
    SubjectChart,
    SubjectTable,
)

MMLU_SETTING = "evaluate/forgetting/mmlu_dir"
BUILTIN, CLASSIFICATION, MMLU, TASK = range(4)  # the check kinds, in the order of the radio buttons and panels


class ForgettingTab(QWidget):
    """Run the forgetting check for a run and show base vs fine-tuned on the held-out task."""

    def __init__(self, context, setup=None, parent=None):
        super().__init__(parent)
        self.context = context
        self.setup = setup  # the page's SetupPanel: its run choice is followed when it changes
        self.result: dict | None = None
        self.message, self.progress, self.runner = runner_with_feedback(
            self, cancelled_text="Forgetting check cancelled; nothing was saved."
        )
        self.runner.busy_changed.connect(self._set_busy)

        # the run ---------------------------------------------------------------------------
        self.run_combo = QComboBox()
        self.run_combo.setToolTip("The fine-tuned run; its base model (from run.json) is scored first, then the run")
        self.run_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.run_combo.setMinimumContentsLength(12)
        self.base_label = QLabel()
        self.base_label.setStyleSheet("color: #667085;")
        self.base_label.setWordWrap(True)

        # the check -------------------------------------------------------------------------
        self.builtin_radio = QRadioButton("Built-in check (no files needed)")
        self.builtin_radio.setToolTip("A held-out check made from what the app ships; works out of the box")
        self.classification_radio = QRadioButton("Classification file or Hub dataset")
        self.classification_radio.setToolTip(
            "A labelled file (e.g. SST-2's dev.tsv) or hf:NAME[:CONFIG], scored by "
            "the log-likelihood of each label word"
        )
        self.mmlu_radio = QRadioButton("MMLU-style multiple choice")
        self.mmlu_radio.setToolTip("General knowledge questions scored by the log-likelihood of the answer letter")
        self.task_radio = QRadioButton("Another instruction task")
        self.task_radio.setToolTip("A prepared dataset the run was not trained on, answered and scored with ROUGE-L")
        self.builtin_radio.setChecked(True)
        self._kind = QButtonGroup(self)
        self.stack = QStackedWidget()
        panels = (self._builtin_panel(), self._classification_panel(), self._mmlu_panel(), self._task_panel())
        for kind, (radio, panel) in enumerate(zip(self._radios(), panels)):
            self._kind.addButton(radio, kind)
            self.stack.addWidget(panel)
        self.run_button = QPushButton("Run forgetting check")
        self.run_button.setDefault(True)
        self.run_button.setToolTip(
            "Score the base model, then the fine-tuned one, on the same items; saved in the workspace"
        )

        check_box = QGroupBox("Check")
        form = QVBoxLayout(check_box)
        form.setSpacing(4)
        row = QHBoxLayout()
        row.addWidget(QLabel("Run"))
        row.addWidget(self.run_combo, 1)
        form.addLayout(row)
        form.addWidget(self.base_label)
        for radio in self._radios():
            form.addWidget(radio)
        form.addWidget(self.stack, 1)
        form.addWidget(self.run_button)

        self.stored_combo = QComboBox()
        self.stored_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.stored_combo.setMinimumContentsLength(12)
        self.stored_combo.setPlaceholderText("no stored checks yet")
        self.open_button = QPushButton("Open")
        stored_box = QGroupBox("Stored checks")
        row = QHBoxLayout(stored_box)
        row.addWidget(self.stored_combo, 1)
        row.addWidget(self.open_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(check_box, 1)
        left_layout.addWidget(stored_box)
        left.setMinimumWidth(300)
        left.setMaximumWidth(350)

        # the result ------------------------------------------------------------------------
        self.result_view = ForgettingResultView()
        self.headline, self.details = self.result_view.headline, self.result_view.details
        self.chart, self.table = self.result_view.chart, self.result_view.table
        self.runs = self.result_view.runs
        self.result_parts = self.result_view.result_parts

        body = QHBoxLayout()
        body.addWidget(left)
        body.addWidget(self.result_view, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addLayout(body, 1)

        self._kind.idToggled.connect(lambda kind, on: on and self.stack.setCurrentIndex(kind))
        self.run_combo.currentIndexChanged.connect(self._show_base)
        self.run_button.clicked.connect(self.start_check)
        self.open_button.clicked.connect(lambda: self.open_result(self.stored_combo.currentData()))
        context.runs_changed.connect(self.refresh_runs)
        context.datasets_changed.connect(self.refresh_datasets)
        if setup is not None:
            setup.run_combo.currentIndexChanged.connect(self._follow_setup)
        self.refresh_runs()
        self.refresh_datasets()
        self.refresh_stored()
        folder = context.settings.value(MMLU_SETTING, "", type=str)
        if folder:
            self.set_mmlu_folder(folder, remember=False)

    # panels -----------------------------------------------------------------------------------
    def _radios(self) -> tuple[QRadioButton, ...]:
        return (self.builtin_radio, self.classification_radio, self.mmlu_radio, self.task_radio)

    def _builtin_panel(self) -> QWidget:
        panel = QWidget()
        self.builtin_combo = QComboBox()
        for item in builtin_checks():
            self.builtin_combo.addItem(item.title, item.name)
            self.builtin_combo.setItemData(self.builtin_combo.count() - 1, item.description, Qt.ToolTipRole)
        self.builtin_about = QLabel()
        self.builtin_about.setWordWrap(True)
        self.builtin_about.setStyleSheet("color: #667085;")
        self.builtin_combo.currentIndexChanged.connect(self._show_builtin)
        self.builtin_limit = QSpinBox()
        self.builtin_limit.setRange(0, 100000)
        self.builtin_limit.setValue(200)
        self.builtin_limit.setSpecialValueText("all")
        self.builtin_limit.setToolTip("How many items to score (0 = all); each model reads each item once")
        form = QFormLayout(panel)
        form.setContentsMargins(18, 0, 0, 0)
        form.addRow(self.builtin_combo)
        form.addRow(self.builtin_about)
        form.addRow("Items", self.builtin_limit)
        self._show_builtin()
        panel.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)
        return panel

    def _show_builtin(self) -> None:
        self.builtin_about.setText(self.builtin_combo.currentData(Qt.ToolTipRole) or "")

    def _classification_panel(self) -> QWidget:
        panel = QWidget()
        self.cls_path = QLineEdit()
        self.cls_path.setPlaceholderText("labelled file, or hf:glue:sst2")
        self.cls_path.setToolTip(
            "A CSV / TSV / JSON / JSONL / Parquet file with a text and a label column, or a "
            "Hugging Face dataset as hf:NAME[:CONFIG] (needs a network the first time)"
        )
        self.cls_path.editingFinished.connect(lambda: self.set_classification_source(self.cls_path.text()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_classification)
        row = QHBoxLayout()
        row.addWidget(self.cls_path, 1)
        row.addWidget(browse)
        self.text_column = QComboBox()
        self.text_column.setEditable(True)
        self.text_column.setToolTip("The column with the text to classify")
        self.label_column = QComboBox()
        self.label_column.setEditable(True)
        self.label_column.setToolTip("The column with the right label")
        self.label_words = QLineEdit()
        self.label_words.setPlaceholderText("e.g. negative,positive for 0,1")
        self.label_words.setToolTip(
            "The word the model should answer for each label. Numeric labels (SST-2: 0, 1) "
            "need one word each, in order; word labels are used as they are"
        )
        self.cls_shots = QSpinBox()
        self.cls_shots.setRange(0, 32)
        self.cls_shots.setToolTip("Solved rows of the file shown before each item (they are not scored)")
        self.cls_limit = QSpinBox()
        self.cls_limit.setRange(0, 1000000)
        self.cls_limit.setValue(200)
        self.cls_limit.setSpecialValueText("all")
        self.cls_limit.setToolTip("How many rows to score (0 = all)")
        form = QFormLayout(panel)
        form.setContentsMargins(18, 0, 0, 0)
        form.addRow(row)
        form.addRow("Text column", self.text_column)
        form.addRow("Label column", self.label_column)
        form.addRow("Label words", self.label_words)
        form.addRow("Shots", self.cls_shots)
        form.addRow("Rows", self.cls_limit)
        panel.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)
        return panel

    def _browse_classification(self) -> None:
        start = str(Path(self.cls_path.text()).parent) if self.cls_path.text() else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Labelled data for the classification check",
            start,
            "Data files (*.csv *.tsv *.json *.jsonl *.parquet);;All files (*)",
        )
        if path:
            self.set_classification_source(path)

    def set_classification_source(self, source: str) -> bool:
        """Offer the columns of ``source`` (a local file; Hub datasets are read when the check runs)."""
        source = str(source).strip()
        self.cls_path.setText(source)
        if not source or source.startswith("hf:"):
            return bool(source)
        from ift_desktop.core.data.sources import load_source

        try:
            columns = load_source(source, limit=1).columns
        except UserError as exc:
            self.message.show_warning(exc.one_line())
            return False
        self.message.clear()
        for combo, guesses in ((self.text_column, ("sentence", "text", "review")), (self.label_column, ("label",))):
            current = combo.currentText()
            combo.clear()
            combo.addItems(columns)
            pick = current if current in columns else next((g for g in guesses if g in columns), None)
            if pick:
                combo.setCurrentText(pick)
        return True

    def _mmlu_panel(self) -> QWidget:
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(18, 0, 0, 0)
        layout.setSpacing(4)
        self.mmlu_path = QLineEdit()
        self.mmlu_path.setPlaceholderText("folder with <subject>_test.csv files")
        self.mmlu_path.setToolTip(
            "The original MMLU CSVs (<subject>_dev.csv and <subject>_test.csv); the app does not ship them"
        )
        self.mmlu_path.editingFinished.connect(lambda: self.set_mmlu_folder(self.mmlu_path.text()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_mmlu)
        row = QHBoxLayout()
        row.addWidget(self.mmlu_path, 1)
        row.addWidget(browse)
        layout.addLayout(row)
        self.subjects = QListWidget()
        self.subjects.setToolTip("The subjects to ask; fewer subjects finish sooner")
        self.subjects.setMinimumHeight(70)
        layout.addWidget(self.subjects, 1)
        buttons = QHBoxLayout()
        for text, state in (("All", Qt.Checked), ("None", Qt.Unchecked)):
            button = QPushButton(text)
            button.setFlat(True)
            button.setStyleSheet("color: #0b4f8a; padding: 0 4px;")
            button.clicked.connect(lambda _=False, s=state: self._check_all(s))
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.shots = QSpinBox()
        self.shots.setRange(0, 5)
        self.shots.setValue(5)
        self.shots.setToolTip("Solved dev questions shown before each question (5 is the standard MMLU setting)")
        self.mmlu_limit = QSpinBox()
        self.mmlu_limit.setRange(0, 10000)
        self.mmlu_limit.setValue(40)
        self.mmlu_limit.setSpecialValueText("all")
        self.mmlu_limit.setToolTip("Questions per subject (0 = all); 40 finishes in minutes on a CPU")
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Shots", self.shots)
        form.addRow("Questions per subject", self.mmlu_limit)
        layout.addLayout(form)
        return panel

    def _task_panel(self) -> QWidget:
        panel = QWidget()
        self.dataset_combo = QComboBox()
        self.dataset_combo.setToolTip("A prepared dataset of a task the run was NOT trained on")
        self.dataset_combo.setPlaceholderText("no prepared dataset: see the Data page")
        self.dataset_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.dataset_combo.setMinimumContentsLength(12)
        self.split_combo = QComboBox()
        self.split_combo.addItems(["test", "validation"])
        self.task_limit = QSpinBox()
        self.task_limit.setRange(0, 100000)
        self.task_limit.setValue(40)
        self.task_limit.setSpecialValueText("all")
        self.task_limit.setToolTip("How many examples to answer (0 = all); generation takes time on a CPU")
        self.max_new_tokens = QSpinBox()
        self.max_new_tokens.setRange(1, 4096)
        self.max_new_tokens.setValue(64)
        self.max_new_tokens.setToolTip("The most tokens each answer may have (greedy decoding)")
        form = QFormLayout(panel)
        form.setContentsMargins(18, 0, 0, 0)
        form.addRow("Dataset", self.dataset_combo)
        form.addRow("Split", self.split_combo)
        form.addRow("Examples", self.task_limit)
        form.addRow("Max new tokens", self.max_new_tokens)
        panel.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)
        return panel

    # lists ------------------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        current = self.run_combo.currentData() or self._setup_run()
        self.run_combo.blockSignals(True)
        self.run_combo.clear()
        for item in self.context.workspace.list_runs():
            status = str((item.summary or {}).get("status") or "")
            self.run_combo.addItem(f"{item.name}  ({status})" if status else item.name, str(item.path))
        index = self.run_combo.findData(current) if current else -1
        self.run_combo.setCurrentIndex(index if index >= 0 else (0 if self.run_combo.count() else -1))
        self.run_combo.blockSignals(False)
        self._show_base()

    def refresh_datasets(self) -> None:
        current = self.dataset_combo.currentData()
        self.dataset_combo.clear()
        for item in self.context.workspace.list_datasets():
            manifest = item.summary or {}
            task = manifest.get("task") or ", ".join(manifest.get("tasks") or [])
            self.dataset_combo.addItem(f"{item.name}  ({task})" if task else item.name, str(item.path))
        index = self.dataset_combo.findData(current) if current else -1
        self.dataset_combo.setCurrentIndex(index if index >= 0 else (0 if self.dataset_combo.count() else -1))

    def refresh_stored(self, select: str | None = None) -> None:
        self.stored_combo.clear()
        for item in list_forgetting(forgetting_dir(self.context.workspace.evaluations_dir)):
            self.stored_combo.addItem(item["name"], item["path"])
            self.stored_combo.setItemData(self.stored_combo.count() - 1, item["summary"], Qt.ToolTipRole)
        index = self.stored_combo.findData(select) if select else -1
        self.stored_combo.setCurrentIndex(index if index >= 0 else (0 if self.stored_combo.count() else -1))
        self.open_button.setEnabled(self.stored_combo.count() > 0)

    def _setup_run(self) -> str | None:
        return self.setup.run_combo.currentData() if self.setup is not None else None

    def _follow_setup(self) -> None:
        index = self.run_combo.findData(self._setup_run() or "")
        if index >= 0 and not self.is_busy():
            self.run_combo.setCurrentIndex(index)

    def _show_base(self) -> None:
        run = self.run_combo.currentData()
        if not run:
            self.base_label.setText("No training run yet: fine-tune a model on the Train page first.")
            return
        self.base_label.setText(f"Base model: {html.escape(base_model_of_run(run))}")
        self._prefer_held_out_builtin(run)

    def _prefer_held_out_builtin(self, run: str) -> None:
        """Pick a built-in check the run was not trained on (a run trained on the sample saw its reviews)."""
        from ift_desktop.core.evaluation.forgetting import trained_on_check_data

        checks = builtin_checks()
        current = next((c for c in checks if c.name == self.builtin_combo.currentData()), None)
        if current is None or not trained_on_check_data(Path(run), current.check):
            return
        other = next((c for c in checks if not trained_on_check_data(Path(run), c.check)), None)
        if other is not None:
            self.builtin_combo.setCurrentIndex(self.builtin_combo.findData(other.name))

    # MMLU folder ------------------------------------------------------------------------------
    def _browse_mmlu(self) -> None:
        start = self.mmlu_path.text() or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Folder with the MMLU CSV files", start)
        if folder:
            self.set_mmlu_folder(folder)

    def set_mmlu_folder(self, folder: str, *, remember: bool = True) -> bool:
        """Fill the subjects from ``folder``; remember it in the settings when it holds MMLU files."""
        folder = str(folder).strip()
        self.mmlu_path.setText(folder)
        self.subjects.clear()
        if not folder:
            return False
        try:
            names = list_subjects(folder)
        except UserError as exc:
            self.message.show_warning(exc.one_line())
            return False
        self.message.clear()
        for name in names:
            item = QListWidgetItem(subject_title(name))
            item.setData(Qt.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked)
            self.subjects.addItem(item)
        if remember:
            self.context.settings.setValue(MMLU_SETTING, folder)
        return True

    def _check_all(self, state) -> None:
        for row in range(self.subjects.count()):
            self.subjects.item(row).setCheckState(state)

    def chosen_subjects(self) -> list[str]:
        return [
            self.subjects.item(r).data(Qt.UserRole)
            for r in range(self.subjects.count())
            if self.subjects.item(r).checkState() == Qt.Checked
        ]

    # running ----------------------------------------------------------------------------------
    def build_check(self) -> MMLUCheck | ClassificationCheck | TaskCheck | None:
        """The check the form describes, or None after saying inline what is missing."""
        try:
            if self.builtin_radio.isChecked():
                chosen = next(b for b in builtin_checks() if b.name == self.builtin_combo.currentData())
                chosen.check.limit = self.builtin_limit.value() or None
                return chosen.check
            if self.classification_radio.isChecked():
                source = self.cls_path.text().strip()
                if not source:
                    self.message.show_warning(
                        "Choose a labelled file (or type hf:NAME[:CONFIG]) for the classification check."
                    )
                    return None
                text, label = self.text_column.currentText().strip(), self.label_column.currentText().strip()
                if not text or not label:
                    self.message.show_warning("Name the text column and the label column of the classification data.")
                    return None
                return ClassificationCheck(
                    source,
                    text,
                    label,
                    labels=words(self.label_words.text()),
                    shots=self.cls_shots.value(),
                    limit=self.cls_limit.value() or None,
                )
            if self.mmlu_radio.isChecked():
                folder = self.mmlu_path.text().strip()
                if not folder:
                    self.message.show_warning(
                        "Choose the folder with the MMLU CSV files (<subject>_test.csv); the app does not ship MMLU."
                    )
                    return None
                return MMLUCheck(
                    folder,
                    subjects=self.chosen_subjects(),
                    shots=self.shots.value(),
                    limit=self.mmlu_limit.value() or None,
                )
            data = self.dataset_combo.currentData()
            if not data:
                self.message.show_warning("No prepared dataset: prepare one on the Data page, then pick it here.")
                return None
            return TaskCheck(
                data,
                split=self.split_combo.currentText(),
                limit=self.task_limit.value() or None,
                max_new_tokens=self.max_new_tokens.value(),
            )
        except UserError as exc:  # what the form is missing (e.g. no subject ticked), checked by the core
            self.message.show_warning(exc.one_line())
            return None

    def start_check(self) -> TaskHandle | None:
        if self.is_busy():
            return None
        self.message.clear()
        run = self.run_combo.currentData()
        if not run:
            self.message.show_warning("No training run to check: fine-tune a model on the Train page first.")
            return None
        check = self.build_check()
        if check is None:
            return None
        return self.runner.start(
            check_forgetting,
            run,
            check,
            out_dir=forgetting_dir(self.context.workspace.evaluations_dir),
            progress_text=f"Forgetting check: {Path(run).name} on {check.label}",
            on_done=self._on_finished,
        )

    def _on_finished(self, result: dict) -> None:
        self.show_result(result)
        self.refresh_stored(select=result.get("path"))
        self.context.status_message.emit(f"Forgetting check saved: {Path(result['path']).name}")

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.run_button, self.open_button, self.run_combo, *self._radios()):
            widget.setEnabled(not busy)

    def is_busy(self) -> bool:
        return self.runner.is_busy()

    def cancel(self) -> None:
        self.runner.cancel()

    def confirm_close(self) -> bool:
        self.runner.shutdown(3000)
        return True

    # showing ----------------------------------------------------------------------------------
    def open_result(self, path: str | None) -> bool:
        if not path:
            self.message.show_info("No stored forgetting check yet: run one first.")
            return False
        try:
            result = read_forgetting(path)
        except UserError as exc:
            self.message.show_error(exc.one_line())
            return False
        self.message.clear()
        self.show_result(result)
        return True

    def show_result(self, result: dict) -> None:
        self.result = result
        folder = forgetting_dir(self.context.workspace.evaluations_dir)
        self.result_view.show_result(result, results_on_same_check(folder, result))
