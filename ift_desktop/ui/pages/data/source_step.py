"""Step 1 — source: a local file, a Hugging Face dataset, or the built-in sample.

Loading runs in a worker (``load_source`` of the data core) with progress and Cancel; when it
is done the step shows the row count, the columns and the first rows in a table.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableView,
    QWidget,
)

from ift_desktop.core.data.sources import load_source, sample_tasks
from ift_desktop.ui.widgets.folders import last_folder, remember_folder

from .records_model import RecordsModel
from .step import WizardStep, section_label

PREVIEW_ROWS = 50
FILE_FILTER = "Data files (*.csv *.tsv *.json *.jsonl *.parquet);;All files (*)"


def load_table(spec: str, *, split: str, limit: int | None, state=None):
    """The worker's job: read the source (the data core reports progress and honours Cancel)."""
    return load_source(spec, split=split, limit=limit, state=state)


class SourceStep(WizardStep):
    title = "1 · Source"
    subtitle = (
        "Pick the data to turn into instruction examples: a file, a Hugging Face dataset, or the built-in sample."
    )

    source_changed = Signal()  # a new table was loaded, or a failed load left none: later steps start over

    def __init__(self, state, context, parent=None):
        super().__init__(state, context, parent)
        self._loaded_key: tuple | None = None
        self._samples = []
        try:
            self._samples = sample_tasks()
        except Exception as exc:  # noqa: BLE001 - a damaged install must not hide the other sources
            self.message.show_warning(f"The built-in sample cannot be read: {exc}")

        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.setHorizontalSpacing(10)
        self.kind_group = QButtonGroup(self)
        self.file_radio = QRadioButton("A file on this computer")
        self.hf_radio = QRadioButton("A Hugging Face dataset")
        self.sample_radio = QRadioButton("The built-in sample")
        for i, radio in enumerate((self.file_radio, self.hf_radio, self.sample_radio)):
            self.kind_group.addButton(radio, i)

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("CSV, TSV, JSON, JSONL or Parquet file")
        self.path_edit.setMinimumWidth(160)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(self.browse_button)

        self.hf_name = QLineEdit()
        self.hf_name.setPlaceholderText("dataset id (e.g. knkarthick/dialogsum) or a saved folder")
        self.hf_name.setToolTip(
            "A Hugging Face dataset id, or a local folder written by save_to_disk or holding a"
            " dataset script / data files."
        )
        self.hf_name.setMinimumWidth(160)
        self.hf_config = QLineEdit()
        self.hf_config.setPlaceholderText("optional")
        self.hf_config.setMinimumWidth(70)
        self.hf_split = QLineEdit("train")
        self.hf_split.setPlaceholderText("split")
        self.hf_split.setMinimumWidth(70)
        hf_row = QHBoxLayout()
        hf_row.setSpacing(8)
        hf_row.addWidget(self.hf_name, 3)
        hf_row.addSpacing(6)
        hf_row.addWidget(QLabel("config"))
        hf_row.addWidget(self.hf_config, 1)
        hf_row.addSpacing(6)
        hf_row.addWidget(QLabel("split"))
        hf_row.addWidget(self.hf_split, 1)

        self.sample_combo = QComboBox()
        self.sample_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.sample_combo.setMinimumContentsLength(24)
        for sample in self._samples:
            title = f"{sample.name.replace('_', ' ')} — {sample.task}: {sample.description}"
            self.sample_combo.addItem(title, sample.name)

        grid.addWidget(self.file_radio, 0, 0)
        grid.addLayout(file_row, 0, 1)
        grid.addWidget(self.hf_radio, 1, 0)
        grid.addLayout(hf_row, 1, 1)
        grid.addWidget(self.sample_radio, 2, 0)
        grid.addWidget(self.sample_combo, 2, 1)
        self.body.addLayout(grid)

        options = QFormLayout()
        self.limit_spin = QSpinBox()
        self.limit_spin.setRange(0, 10_000_000)
        self.limit_spin.setSpecialValueText("all rows")
        self.limit_spin.setSuffix(" rows")
        self.limit_spin.setToolTip("Read at most this many rows (0 = all), e.g. to try a large dataset quickly.")
        limit_row = QHBoxLayout()
        limit_row.addWidget(self.limit_spin)
        self.load_button = QPushButton("Load")
        self.load_button.setDefault(True)
        self.load_button.setObjectName("Primary")
        self.load_button.clicked.connect(self.load)
        limit_row.addWidget(self.load_button)
        limit_row.addStretch(1)
        holder = QWidget()
        holder.setLayout(limit_row)
        limit_row.setContentsMargins(0, 0, 0, 0)
        options.addRow("Use at most", holder)
        self.body.addLayout(options)

        self.summary = QLabel("Nothing loaded yet.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.body.addWidget(section_label("Preview"))
        self.body.addWidget(self.summary)
        self.records = RecordsModel(self)
        self.table_view = QTableView()
        self.table_view.setModel(self.records)
        self.table_view.setWordWrap(False)
        self.table_view.setAlternatingRowColors(True)
        self.table_view.verticalHeader().setDefaultSectionSize(22)
        self.table_view.horizontalHeader().setSectionResizeMode(QHeaderView.Interactive)
        self.table_view.horizontalHeader().setStretchLastSection(True)
        self.body.addWidget(self.table_view, 1)

        self.path_edit.textEdited.connect(lambda: self.file_radio.setChecked(True))
        self.path_edit.returnPressed.connect(self.load)
        self.hf_name.textEdited.connect(lambda: self.hf_radio.setChecked(True))
        self.hf_name.returnPressed.connect(self.load)
        self.sample_combo.activated.connect(lambda: self.sample_radio.setChecked(True))
        (self.sample_radio if self._samples else self.file_radio).setChecked(True)

    # inputs ------------------------------------------------------------------------------------
    def _browse(self) -> None:
        start = (
            str(Path(self.path_edit.text()).expanduser().parent)
            if self.path_edit.text()
            else last_folder(self.context.settings, "data-file", self.context.workspace.root)
        )
        path, _ = QFileDialog.getOpenFileName(self, "Choose a data file", start, FILE_FILTER)
        if path:
            remember_folder(self.context.settings, "data-file", path)
            self.path_edit.setText(path)
            self.file_radio.setChecked(True)
            self.load()

    def set_file(self, path: str | Path) -> None:
        self.path_edit.setText(str(path))
        self.file_radio.setChecked(True)

    def set_sample(self, name: str) -> None:
        index = self.sample_combo.findData(name)
        if index >= 0:
            self.sample_combo.setCurrentIndex(index)
        self.sample_radio.setChecked(True)

    def current_source(self) -> tuple[str, str, str]:
        """``(spec, split, label)`` for what the inputs say now."""
        if self.file_radio.isChecked():
            text = self.path_edit.text().strip()
            return text, "train", Path(text).name if text else ""
        if self.hf_radio.isChecked():
            name, config = self.hf_name.text().strip(), self.hf_config.text().strip()
            spec = f"hf:{name}:{config}" if config else f"hf:{name}"
            split = self.hf_split.text().strip() or "train"
            return (spec if name else ""), split, f"{name}{':' + config if config else ''} [{split}]"
        name = self.sample_combo.currentData() or ""
        return (f"sample:{name}" if name else ""), "train", f"{name} (sample)"

    def _key(self) -> tuple:
        spec, split, _ = self.current_source()
        return spec, split, self.limit_spin.value() or None

    # loading -----------------------------------------------------------------------------------
    def load(self) -> None:
        spec, split, label = self.current_source()
        if not spec:
            what = {"0": "Choose a file", "1": "Type a dataset id", "2": "Choose a sample task"}
            self.fail(f"{what[str(self.kind_group.checkedId())]} first, then press Load.")
            return
        key = self._key()
        limit = key[2]
        self.load_button.setEnabled(False)

        def loaded(table):
            self._enable_load()
            self._loaded_key = key
            self._show_table(table, spec, split, limit, label)

        def failed(_text):
            self._enable_load()
            self._forget_table()

        self.runner.start(
            load_table,
            spec,
            split=split,
            limit=limit,
            progress_text=f"Reading {label}…",
            on_done=loaded,
            on_cancelled=self._enable_load,
            on_failed=failed,
        )

    def _forget_table(self) -> None:
        """A load failed: the error stands alone, with no earlier source's rows under it."""
        self._loaded_key = None
        self.state.table = None
        self.state.table_version += 1
        self.records.set_records([], [])
        self.summary.setText("Nothing loaded: see the message above.")
        self.source_changed.emit()

    def _enable_load(self) -> None:
        self.load_button.setEnabled(True)

    def _show_table(self, table, spec: str, split: str, limit: int | None, label: str) -> None:
        state = self.state
        state.table = table
        state.table_version += 1
        state.source_spec, state.source_split, state.limit, state.source_label = spec, split, limit, label
        state.sample_mapping, state.sample_task = None, None
        if spec.startswith("sample:"):
            name = spec.split(":", 1)[1]
            for sample in self._samples:
                if sample.name == name:
                    state.sample_mapping = {k: list(v) for k, v in sample.mapping.items()}
                    state.sample_task = sample.task
        n = len(table.records)
        shown = min(n, PREVIEW_ROWS)
        self.summary.setText(
            f"<b>{n:,} rows</b> from {table.origin} · {len(table.columns)} columns: "
            f"{', '.join(table.columns)}" + (f" · showing the first {shown}" if n > shown else "")
        )
        self.records.set_records(table.records[:PREVIEW_ROWS], table.columns)
        header = self.table_view.horizontalHeader()
        for column in range(len(table.columns)):
            self.table_view.resizeColumnToContents(column)
            header.resizeSection(column, min(max(header.sectionSize(column), 80), 420))
        self.message.clear()
        self.source_changed.emit()

    # wizard ------------------------------------------------------------------------------------
    def commit(self) -> bool:
        if self.task is not None:
            return self.fail("Still reading the source; wait for it to finish or press Cancel.")
        if self.state.table is None:
            return self.fail("Load a source first: choose it above and press Load.")
        if self._loaded_key != self._key():
            return self.fail("The source changed since it was loaded; press Load to read it.")
        if not self.state.table.records:
            return self.fail(f"{self.state.source_label} has no rows; choose another source.")
        return True
