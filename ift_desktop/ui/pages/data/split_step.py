"""Step 4 — split and mixture: train/validation/test sizes, the seed, and other sources to mix in.

Sizes are fractions or counts; a classification task may keep its label proportions in every
split (stratify). The mixture table holds the source of steps 1–3 plus any further parts (a task
of the built-in sample, another file), each with a cap or a weight. The dataset is prepared in a
worker with the data core (exactly what ``ift-desktop prepare`` would write); the step shows the
split counts, what each part contributes, and train/test leakage warnings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QWidget,
)

from ift_desktop.core.data.prepare import PrepareConfig
from ift_desktop.core.data.sources import load_source, sample_tasks
from ift_desktop.core.data.tasks import get_task, guess_mapping
from ift_desktop.core.data.templates import TemplateLibrary
from ift_desktop.core.errors import DataError
from ift_desktop.ui.widgets.folders import last_folder, remember_folder
from ift_desktop.ui.widgets.messages import InlineMessage

from .jobs import plan_dataset
from .mapping_step import best_task
from .source_step import FILE_FILTER
from .state import ExtraSource
from .step import WizardStep, hint_label, section_label

COLUMNS = ("Part", "Task", "Template", "Used / available", "Cap", "Weight", "")
COLUMN_WIDTHS = (230, 120, 140, 110, 95, 80, 72)


def inspect_file(path: str, *, state=None) -> ExtraSource:
    """Read a file's first rows and guess its task and mapping, for a new mixture part."""
    table = load_source(path, limit=200, state=state)
    task = best_task(table.columns)
    spec = get_task(task)
    mapping = guess_mapping(task, table.columns)
    missing = [f for f in spec.required_fields if f not in mapping]
    if missing:
        raise DataError(
            f"Cannot tell which column of {Path(path).name} holds '{missing[0]}' for {spec.title.lower()}; "
            f"its columns are: {', '.join(table.columns)}. Name its columns after a task's fields "
            "(e.g. instruction and output, or prompt and completion), or load it on step 1 and map it there."
        )
    return ExtraSource(Path(path).stem, PrepareConfig(source=path, task=task, mapping=mapping))


class SplitStep(WizardStep):
    title = "4 · Split and mixture"
    subtitle = (
        "Hold out examples for validation and testing, and optionally mix in other tasks "
        "(multi-task instruction tuning)."
    )

    def __init__(self, state, context, parent=None):
        super().__init__(state, context, parent)
        self.plan = None
        self._advance_when_done = False
        self._filling = True  # no re-preparing while the widgets are built
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self.refresh)

        form = QFormLayout()
        self.unit_combo = QComboBox()
        self.unit_combo.addItem("fractions of the data", "fraction")
        self.unit_combo.addItem("numbers of examples", "count")
        self.unit_combo.currentIndexChanged.connect(self._unit_changed)
        self.unit_combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        unit_row = QHBoxLayout()
        unit_row.setContentsMargins(0, 0, 0, 0)
        unit_row.addWidget(self.unit_combo)
        unit_row.addStretch(1)
        self.val_spin = QDoubleSpinBox()
        self.test_spin = QDoubleSpinBox()
        for spin in (self.val_spin, self.test_spin):
            spin.setMinimumWidth(110)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2_147_483_647)
        self.seed_spin.setValue(state.seed)
        self.stratify_box = QCheckBox("Keep the label proportions in every split (stratify)")
        sizes = QHBoxLayout()
        sizes.setContentsMargins(0, 0, 0, 0)
        for label, widget in (("validation", self.val_spin), ("test", self.test_spin), ("seed", self.seed_spin)):
            sizes.addWidget(QLabel(label))
            sizes.addWidget(widget)
            sizes.addSpacing(12)
        sizes.addStretch(1)
        holder = QWidget()
        holder.setLayout(sizes)
        form.addRow("Sizes as", unit_row)
        form.addRow("Hold out", holder)
        form.addRow("", self.stratify_box)
        self.body.addLayout(form)
        self._unit_changed()
        self.val_spin.setValue(state.val)
        self.test_spin.setValue(state.test)

        self.body.addWidget(section_label("Mixture"))
        self.body.addWidget(
            hint_label(
                "Each part is prepared with its own task and template. A cap keeps at most that many examples of a "
                "part; weights set the parts' proportions (give every part one, or none)."
            )
        )
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        header = self.table.horizontalHeader()
        # fixed widths: columns that resize to their contents leave the cell widgets misplaced
        for column, width in enumerate(COLUMN_WIDTHS):
            header.setSectionResizeMode(column, QHeaderView.Interactive)
            header.resizeSection(column, width)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.setMinimumHeight(110)
        self.table.setMaximumHeight(220)
        self.body.addWidget(self.table, 1)
        add_row = QHBoxLayout()
        self.sample_button = QToolButton()
        self.sample_button.setText("Add a task of the built-in sample")
        self.sample_button.setPopupMode(QToolButton.InstantPopup)
        self.sample_menu = QMenu(self.sample_button)
        self.sample_button.setMenu(self.sample_menu)
        self.sample_menu.aboutToShow.connect(self._fill_sample_menu)
        self.file_button = QPushButton("Add a file…")
        self.file_button.clicked.connect(self._add_file)
        add_row.addWidget(self.sample_button)
        add_row.addWidget(self.file_button)
        add_row.addStretch(1)
        self.body.addLayout(add_row)

        self.body.addWidget(section_label("Result"))
        self.result = QLabel("Not prepared yet.")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.RichText)
        self.body.addWidget(self.result)
        self.leakage = InlineMessage()
        self.body.addWidget(self.leakage)
        self.body.addStretch(1)

        self.val_spin.valueChanged.connect(self._changed)
        self.test_spin.valueChanged.connect(self._changed)
        self.seed_spin.valueChanged.connect(self._changed)
        self.stratify_box.toggled.connect(self._changed)
        self._filling = False

    # inputs ------------------------------------------------------------------------------------
    def _unit_changed(self) -> None:
        fraction = self.unit_combo.currentData() == "fraction"
        for spin in (self.val_spin, self.test_spin):
            spin.blockSignals(True)
            if fraction:
                spin.setDecimals(2)
                spin.setRange(0.0, 0.9)
                spin.setSingleStep(0.05)
                spin.setValue(0.1)
            else:
                spin.setDecimals(0)
                spin.setRange(0, 1_000_000)
                spin.setSingleStep(10)
                spin.setValue(50)
            spin.blockSignals(False)
        self._changed()

    def _changed(self) -> None:
        if not self._filling:
            self._timer.start()

    def _read_inputs(self) -> None:
        state = self.state
        state.val = float(self.val_spin.value())
        state.test = float(self.test_spin.value())
        state.seed = int(self.seed_spin.value())
        state.stratify = self.stratify_box.isChecked() and state.task == "classification"

    # mixture table -----------------------------------------------------------------------------
    def _fill_table(self) -> None:
        self._filling = True
        state = self.state
        rows = [(state.source_label or state.source_spec, state.task, state.template, None)]
        rows += [(e.label, e.config.task, e.config.template, e) for e in state.extra]
        self.table.setRowCount(len(rows))
        mixture = bool(state.extra)
        for row, (label, task, template, extra) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(label))
            task_item = QTableWidgetItem(task or "")
            task_item.setToolTip(get_task(task).description if task else "")
            self.table.setItem(row, 1, task_item)
            self.table.setItem(row, 2, QTableWidgetItem(template or "default"))
            self.table.setItem(row, 3, QTableWidgetItem("—"))
            cap = QSpinBox()
            cap.setRange(0, 10_000_000)
            cap.setSpecialValueText("no cap")
            cap.setValue((extra.cap if extra else state.main_cap) or 0)
            weight = QDoubleSpinBox()
            weight.setRange(0.0, 1000.0)
            weight.setDecimals(2)
            weight.setSpecialValueText("—")
            weight.setValue((extra.weight if extra else state.main_weight) or 0.0)
            for spin in (cap, weight):
                spin.setEnabled(mixture)
                spin.setToolTip("" if mixture else "Caps and weights apply once there is more than one part.")
            cap.valueChanged.connect(lambda v, e=extra: self._set_cap(e, v))
            weight.valueChanged.connect(lambda v, e=extra: self._set_weight(e, v))
            self.table.setCellWidget(row, 4, cap)
            self.table.setCellWidget(row, 5, weight)
            if extra is not None:
                remove = QToolButton()
                remove.setText("Remove")
                remove.clicked.connect(lambda _=False, e=extra: self._remove(e))
                self.table.setCellWidget(row, 6, remove)
            else:
                self.table.setItem(row, 6, QTableWidgetItem(""))
        self._filling = False
        self._show_part_counts()

    def _show_part_counts(self) -> None:
        """Fill the template and used/available columns from the prepared plan (widgets stay as they are)."""
        if self.plan is None:
            return
        parts = self.plan.manifest.get("components") or []
        if not self.state.extra:
            rows_read = self.plan.manifest.get("rows_read", "?")
            parts = [
                {
                    "used": f"{sum(self.plan.counts.values())}",
                    "available": f"{rows_read} rows",
                    "template": self.plan.manifest.get("template"),
                }
            ]
        if len(parts) != self.table.rowCount():
            return  # the plan is for another set of parts; the next one will fill these in
        for row, part in enumerate(parts):
            self.table.item(row, 2).setText(str(part.get("template") or "default"))
            self.table.item(row, 3).setText(f"{part['used']} / {part['available']}")

    def _set_cap(self, extra: ExtraSource | None, value: int) -> None:
        if extra is None:
            self.state.main_cap = value or None
        else:
            extra.cap = value or None
        self._changed()

    def _set_weight(self, extra: ExtraSource | None, value: float) -> None:
        if extra is None:
            self.state.main_weight = value or None
        else:
            extra.weight = value or None
        self._changed()

    def _remove(self, extra: ExtraSource) -> None:
        self.state.extra.remove(extra)
        self._fill_table()
        self.refresh()

    def _fill_sample_menu(self) -> None:
        self.sample_menu.clear()
        present = {self.state.source_spec, *(e.config.source for e in self.state.extra)}
        for sample in sample_tasks():
            spec = f"sample:{sample.name}"
            action = self.sample_menu.addAction(f"{sample.name.replace('_', ' ')} ({sample.task})")
            action.setEnabled(spec not in present)
            action.triggered.connect(lambda _=False, s=sample: self.add_sample(s.name))

    def add_sample(self, name: str) -> None:
        sample = next(s for s in sample_tasks() if s.name == name)
        config = PrepareConfig(
            source=f"sample:{sample.name}",
            task=sample.task,
            mapping=dict(sample.mapping),
            stratify=sample.task == "classification",
        )
        self.add_extra(ExtraSource(sample.name, config))

    def add_extra(self, extra: ExtraSource) -> None:
        self.state.extra.append(extra)
        self._fill_table()
        self.refresh()

    def _add_file(self) -> None:
        start = last_folder(self.context.settings, "data-file", self.context.workspace.root)
        path, _ = QFileDialog.getOpenFileName(self, "Add a data file to the mixture", start, FILE_FILTER)
        if path:
            remember_folder(self.context.settings, "data-file", path)
            self.add_file(path)

    def add_file(self, path: str) -> None:
        self.runner.start(inspect_file, path, progress_text=f"Reading {Path(path).name}…", on_done=self.add_extra)

    # preparing ---------------------------------------------------------------------------------
    def enter(self) -> None:
        self.stratify_box.setEnabled(self.state.task == "classification")
        if self.state.task != "classification":
            self.stratify_box.setChecked(False)
        self._fill_table()
        self._read_inputs()
        if self.state.plan_key != self.state.key() or self.plan is None:
            self.refresh()

    def refresh(self) -> None:
        self._timer.stop()
        self._read_inputs()
        state = self.state
        key = state.key()
        state.splits, state.plan, state.plan_key = None, None, None
        self.leakage.clear()
        self.result.setText("Preparing…")
        library = TemplateLibrary(user_dir=self.context.workspace.templates_dir)
        components = state.components() if state.is_mixture() else None

        def planned(plan):
            self.plan = plan
            state.plan, state.splits, state.leakage, state.plan_key = plan, plan.splits, plan.leakage, key
            self._show_plan(plan)
            if self._advance_when_done:
                self._advance_when_done = False
                self.advance_requested.emit()

        def failed(_text):
            self.plan = None
            self._advance_when_done = False
            self.result.setText("Not prepared: see the message above.")

        def cancelled():
            self._advance_when_done = False
            self.result.setText("Cancelled. Change a setting or press Next to prepare again.")

        self.runner.start(
            plan_dataset,
            state.prepare_config(),
            components,
            library=library,
            progress_text="Preparing examples…",
            on_done=planned,
            on_failed=failed,
            on_cancelled=cancelled,
        )

    def _show_plan(self, plan) -> None:
        counts = plan.counts
        total = sum(counts.values())
        text = (
            f"<b>{total:,} examples</b>: train <b>{counts['train']:,}</b> · validation "
            f"<b>{counts['validation']:,}</b> · test <b>{counts['test']:,}</b>"
        )
        skipped = plan.manifest.get("skipped_rows")
        if skipped:
            text += f"<br>{skipped} rows were skipped because a mapped field was empty."
        parts = plan.manifest.get("components") or []
        if parts:
            text += (
                "<br>"
                + " · ".join(
                    f"{p['name']}: {p['counts']['train']}/{p['counts']['validation']}/{p['counts']['test']}"
                    for p in parts
                )
                + " (train/validation/test)"
            )
        self.result.setText(text)
        self._show_part_counts()
        if plan.leakage:
            self.leakage.show_warning("Leakage: " + " ".join(plan.leakage))
        else:
            self.leakage.show_success("No example's prompt appears in two splits.")

    def commit(self) -> bool:
        self._read_inputs()
        if self.task is not None and not self._advance_when_done and self.state.plan_key is None:
            self._advance_when_done = True
            return False
        if self.state.plan_key == self.state.key() and self.state.splits:
            return True
        self._advance_when_done = True
        self.refresh()
        return False
