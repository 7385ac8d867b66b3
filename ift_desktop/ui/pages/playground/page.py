"""Playground: prompt the model with 0, 1 or k examples of the dataset itself, see the answer next to
the reference, what the shots cost in context, and how far prompting alone gets on the test split."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.errors import UserError
from ift_desktop.ui.task_runner import runner_with_feedback
from ift_desktop.ui.widgets.dataset_choice import DatasetChoice
from ift_desktop.ui.widgets.page_layout import page_column

from . import jobs

BUILTIN_LABEL = "Built-in: SmolLM2-135M-Instruct"


class PlaygroundPage(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self._dataset_choice = DatasetChoice()
        self.models = jobs.ModelCache()  # the loaded model, kept between generations
        self.tokenizer = None
        self.tokenizer_key = None
        self.context_length = None
        self.pool: list[dict] = []
        self.queries: list[dict] = []

        title = QLabel("Playground")
        title.setObjectName("PageTitle")
        hint = QLabel(
            "Before paying for fine-tuning, see how far prompting alone gets: the model answers a test example "
            'with 0, 1 or a few solved examples from the training split placed before it ("shots"). Shots cost '
            "context: the meter shows how much of the model's window they take."
        )
        hint.setWordWrap(True)
        hint.setObjectName("Hint")
        self.message, self.progress, self.runner = runner_with_feedback(self)
        self.progress.keep_place()  # appearing, it does not push the page down
        self.runner.busy_changed.connect(self._on_busy_changed)

        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The base model, or a finished run to try the fine-tuned model.")
        self.model_other = QLineEdit()
        self.model_other.setPlaceholderText("or a Hugging Face Hub id / local model folder")
        self.dataset_combo = QComboBox()
        self.example_spin = QSpinBox()
        self.example_spin.setToolTip("Which test example to answer.")
        self.shots_spin = QSpinBox()
        self.shots_spin.setRange(0, 8)
        self.shots_spin.setValue(1)
        self.shots_spin.setToolTip("How many solved examples from the training split go before the question.")
        self.max_new_spin = QSpinBox()
        self.max_new_spin.setRange(8, 512)
        self.max_new_spin.setValue(80)
        self.compare_n_spin = QSpinBox()
        self.compare_n_spin.setRange(1, 200)
        self.compare_n_spin.setValue(8)

        form = QFormLayout()
        form.addRow("Model", self.model_combo)
        form.addRow("", self.model_other)
        form.addRow("Dataset", self.dataset_combo)
        form.addRow("Test example", self.example_spin)
        form.addRow("Shots", self.shots_spin)
        form.addRow("Max new tokens", self.max_new_spin)
        self.generate_button = QPushButton("Generate answer")
        self.generate_button.setObjectName("Primary")
        self.compare_button = QPushButton("Compare 0, 1 and k shots")
        self.compare_button.setToolTip("Answer the first N test examples with 0, 1 and k shots and score them (ROUGE).")
        compare_row = QHBoxLayout()
        compare_row.addWidget(QLabel("on"))
        compare_row.addWidget(self.compare_n_spin)
        compare_row.addWidget(QLabel("test examples"))
        compare_row.addStretch(1)
        settings_box = QGroupBox("Set-up")
        settings_layout = QVBoxLayout(settings_box)
        settings_layout.addLayout(form)
        settings_layout.addWidget(self.generate_button)
        settings_layout.addWidget(self.compare_button)
        settings_layout.addLayout(compare_row)
        settings_layout.addStretch(1)

        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setPlaceholderText("The prompt the model will get appears here; you may edit it.")
        self.meter = QProgressBar()
        self.meter.setRange(0, 1000)
        self.meter.setFormat("")
        self.meter_label = QLabel("Pick a dataset to build a prompt.")
        self.meter_label.setWordWrap(True)
        prompt_box = QGroupBox("Prompt (shots + question)")
        prompt_layout = QVBoxLayout(prompt_box)
        prompt_layout.addWidget(self.prompt_edit, 1)
        prompt_layout.addWidget(self.meter)
        prompt_layout.addWidget(self.meter_label)

        self.answer_view = QPlainTextEdit()
        self.answer_view.setReadOnly(True)
        self.reference_view = QPlainTextEdit()
        self.reference_view.setReadOnly(True)
        self.answer_score = QLabel()
        self.answer_score.setWordWrap(True)
        answer_box = QGroupBox("Answer vs reference")
        answer_layout = QVBoxLayout(answer_box)
        answer_layout.addWidget(QLabel("Model's answer"))
        answer_layout.addWidget(self.answer_view, 1)
        answer_layout.addWidget(QLabel("Reference"))
        answer_layout.addWidget(self.reference_view, 1)
        answer_layout.addWidget(self.answer_score)

        self.compare_table = QTableWidget(0, 5)
        self.compare_table.setHorizontalHeaderLabels(
            ["Shots", "ROUGE-1", "ROUGE-L", "Prompt tokens (mean)", "Fit in context"]
        )
        self.compare_table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.compare_table.verticalHeader().hide()
        self.compare_table.setMaximumHeight(150)

        right = QSplitter(Qt.Horizontal)
        right.addWidget(prompt_box)
        right.addWidget(answer_box)
        right.setSizes([560, 440])
        body = QSplitter(Qt.Horizontal)
        body.addWidget(settings_box)
        body.addWidget(right)
        body.setSizes([300, 1000])

        page_column(self, title, hint, self.message, self.progress, body=body).addWidget(self.compare_table)

        self.model_combo.currentIndexChanged.connect(self._on_model_changed)
        self.model_other.editingFinished.connect(self._on_model_changed)
        self.dataset_combo.currentIndexChanged.connect(self._load_dataset)
        self.example_spin.valueChanged.connect(self._rebuild_prompt)
        self.shots_spin.valueChanged.connect(self._rebuild_prompt)
        self.max_new_spin.valueChanged.connect(self._update_meter)
        self.prompt_edit.textChanged.connect(self._update_meter)
        self.generate_button.clicked.connect(self.generate)
        self.compare_button.clicked.connect(self.compare)
        context.datasets_changed.connect(self.refresh_lists)
        context.runs_changed.connect(self.refresh_lists)
        self.refresh_lists()

    # lists ------------------------------------------------------------------------------------
    def refresh_lists(self) -> None:
        current_model = self.model_combo.currentData()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItem(BUILTIN_LABEL, "builtin")
        for run in self.context.workspace.list_runs():
            if (run.path / "adapter").is_dir() or (run.path / "model").is_dir():
                self.model_combo.addItem(f"Run: {run.name}", str(run.path))
        index = self.model_combo.findData(current_model)
        self.model_combo.setCurrentIndex(max(0, index))
        self.model_combo.blockSignals(False)

        current = self.dataset_combo.currentData()
        self.dataset_combo.blockSignals(True)
        self.dataset_combo.clear()
        datasets = self.context.workspace.list_datasets()  # newest first
        for item in datasets:
            self.dataset_combo.addItem(item.name, str(item.path))
        chosen = self._dataset_choice.choose([str(item.path) for item in datasets], current)
        self.dataset_combo.setCurrentIndex(max(0, self.dataset_combo.findData(chosen)))
        self.dataset_combo.blockSignals(False)
        if self.dataset_combo.count() == 0:
            self.message.show_info(
                "No prepared dataset yet: make one on the Data page (the built-in sample is prepared on first start)."
            )
        else:
            self.message.clear()
            self._load_dataset()

    def model_text(self) -> str:
        return self.model_other.text().strip() or str(self.model_combo.currentData() or "builtin")

    # dataset + tokenizer ----------------------------------------------------------------------
    def _load_dataset(self) -> None:
        folder = self.dataset_combo.currentData()
        if not folder:
            return
        try:
            self.pool, self.queries = jobs.read_pool_and_queries(folder)
        except UserError as exc:  # e.g. a dataset without a test split: shown inline
            self.message.show_error(exc.one_line())
            return
        self.example_spin.setRange(1, max(1, len(self.queries)))
        self.shots_spin.setMaximum(min(8, len(self.pool)))
        if self.isVisible():  # the tokenizer (and the built-in model's first conversion) loads only when needed
            self._ensure_tokenizer()

    def on_shown(self) -> None:
        """Called by the main window when the page comes into view."""
        if self.queries:
            self._ensure_tokenizer()

    def _on_model_changed(self) -> None:
        self._ensure_tokenizer()

    def _ensure_tokenizer(self) -> None:
        key = self.model_text()
        if key == self.tokenizer_key and self.tokenizer is not None:
            self._rebuild_prompt()
            return
        if self.runner.is_busy():
            self._tokenizer_wanted = True  # picked up when the running task ends
            return
        self._tokenizer_wanted = False
        self._start(jobs.load_tokenizer_info, key, message="Loading the tokenizer…", on_done=self._on_tokenizer)

    def _on_tokenizer(self, result) -> None:
        self.tokenizer_key, self.tokenizer, self.context_length = result
        self._rebuild_prompt()

    def _rebuild_prompt(self) -> None:
        if not self.queries:
            return
        query = self.queries[self.example_spin.value() - 1]
        built = jobs.build_prompt(self.pool, query, self.shots_spin.value(), self.tokenizer, self.context_length)
        self.prompt_edit.blockSignals(True)
        self.prompt_edit.setPlainText(built.text)
        self.prompt_edit.blockSignals(False)
        self.reference_view.setPlainText("\n— or —\n".join(jobs.references_of(query)))
        self.answer_view.clear()
        self.answer_score.clear()
        costs = built.tokens_per_shot or []
        self._shot_cost = sum(costs) / len(costs) if costs else 0
        self._update_meter()

    def _update_meter(self) -> None:
        if self.tokenizer is None or not self.context_length:
            return
        used = jobs.count_prompt_tokens(self.tokenizer, self.prompt_edit.toPlainText())
        budget = self.context_length
        answer = self.max_new_spin.value()
        share = (used + answer) / budget
        self.meter.setValue(int(min(1.0, share) * 1000))
        colour = "#16a34a" if share < 0.6 else "#ca8a04" if share < 0.9 else "#dc2626"
        self.meter.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
        per_shot = getattr(self, "_shot_cost", 0) or 0
        text = (
            f"Prompt {used:,} tokens + up to {answer} answer tokens = {share:.1%} of the model's "
            f"{budget:,}-token context."
        )
        if per_shot:
            room = max(0, budget - used - answer)
            text += f" Each shot (one worked example) costs about {per_shot:,.0f} tokens; about {int(room // per_shot)} more shots would fit in the context."
        if share > 1:
            text += " Too long: the prompt's middle will be cut. Use fewer shots."
        self.meter_label.setText(text)

    # generation -------------------------------------------------------------------------------
    def generate(self) -> None:
        if not self.queries:
            self.message.show_info("Pick a dataset first.")
            return
        query = self.queries[self.example_spin.value() - 1]
        self.answer_view.setPlainText("")
        self.answer_score.setText("")
        self._start(
            jobs.answer,
            self.models,
            self.model_text(),
            self.prompt_edit.toPlainText(),
            jobs.references_of(query),
            self.max_new_spin.value(),
            message="Generating…",
            on_done=self._on_answer,
            on_partial=self._on_partial,
        )

    def _on_partial(self, partial) -> None:
        """The answer so far (streamed token by token), or a finished row of the shot comparison."""
        if not isinstance(partial, dict):
            return
        if partial.get("kind") == "answer":
            self.answer_view.setPlainText(partial["text"])
            self.answer_view.moveCursor(QTextCursor.End)
        elif partial.get("kind") == "shot_row":
            self._add_compare_row(partial["row"])

    def _on_answer(self, result) -> None:
        text, rouge_l, seconds = result
        self.answer_view.setPlainText(text if text else "(empty answer)")
        self.answer_score.setText(f"ROUGE-L against the best reference: {rouge_l:.3f} · {seconds:.1f} s")

    def compare(self) -> None:
        if not self.queries:
            self.message.show_info("Pick a dataset first.")
            return
        k = max(2, self.shots_spin.value())
        counts = sorted({0, 1, min(k, len(self.pool))})
        queries = self.queries[: self.compare_n_spin.value()]
        self.compare_table.setRowCount(0)
        self._start(
            jobs.compare,
            self.models,
            self.model_text(),
            self.pool,
            queries,
            counts,
            self.max_new_spin.value(),
            message="Comparing shot counts…",
            on_done=self._on_compare,
            on_partial=self._on_partial,
        )

    def _on_compare(self, rows) -> None:
        self.compare_table.setRowCount(0)
        for row in rows:
            self._add_compare_row(row)

    def _add_compare_row(self, row) -> None:
        r = self.compare_table.rowCount()
        self.compare_table.setRowCount(r + 1)
        values = [
            str(row.shots),
            f"{row.rouge1:.3f}",
            f"{row.rougeL:.3f}",
            f"{row.mean_prompt_tokens:,.0f}",
            f"{row.examples_that_fit}/{row.examples}",
        ]
        for c, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setTextAlignment(Qt.AlignCenter)
            self.compare_table.setItem(r, c, item)

    # worker plumbing --------------------------------------------------------------------------
    def _start(self, fn, *args, message: str, on_done, on_partial=None):
        """One task at a time: a press while one runs is ignored (the buttons are disabled then)."""
        if self.runner.is_busy():
            return None
        return self.runner.start(fn, *args, progress_text=message, on_done=on_done, on_partial=on_partial)

    @property
    def _task(self):
        return self.runner.task

    def _on_busy_changed(self, busy: bool) -> None:
        self.generate_button.setEnabled(not busy)
        self.compare_button.setEnabled(not busy)
        if busy:
            return
        if getattr(self, "_tokenizer_wanted", False) or (
            self.tokenizer is not None and self.tokenizer_key != self.model_text()
        ):
            self._ensure_tokenizer()

    def shutdown(self, timeout_ms: int) -> None:
        self.runner.shutdown(timeout_ms)
