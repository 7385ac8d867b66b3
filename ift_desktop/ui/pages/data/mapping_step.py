"""Step 2 — columns and task: which task to teach and which column fills each of its fields.

The mapping is guessed from the column names (``guess_mapping``) or taken from the built-in
sample's own; the user can change every field. The target field may take several columns
(several references, e.g. DialogSum's summary1..3). Task parameters (languages, labels) are
plain text fields.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QToolButton,
    QWidget,
)

from ift_desktop.core.data.tasks import TASKS, columns_like_field, get_task, guess_mapping

from .records_model import RecordsModel
from .step import WizardStep, section_label

NONE = "— none —"
PARAM_HINTS = {
    "source_lang": "e.g. English",
    "target_lang": "e.g. German",
    "labels": "comma-separated, e.g. negative, positive (default: the labels found in the data)",
}


def best_task(columns: list[str]) -> str:
    """The task whose fields the column names fill best (summarization when nothing fits)."""
    scores = []
    for order, name in enumerate(TASKS):
        spec = TASKS[name]
        guessed = guess_mapping(name, columns)
        required = [f for f in spec.required_fields if f in guessed]
        complete = len(required) == len(spec.required_fields)
        scores.append((complete, len(required) / max(1, len(spec.required_fields)), -order, name))
    return max(scores)[3]


class ColumnChoices(QWidget):
    """One or more column combo boxes for a field (more than one only for the target field)."""

    changed = Signal()

    def __init__(self, columns: list[str], chosen: list[str], *, optional: bool, multiple: bool):
        super().__init__()
        self.columns = columns
        self.optional = optional
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.combos: list[QComboBox] = []
        self.add_button = None
        if multiple:
            self.add_button = QPushButton("+ reference column")
            self.add_button.setToolTip("Map another column to this field: each one becomes a reference answer.")
            self.add_button.clicked.connect(lambda: self.add_combo(None))
        for column in chosen or [None]:
            self.add_combo(column)
        if self.add_button is not None:
            self.row.addWidget(self.add_button)
        self.row.addStretch(1)

    def add_combo(self, column: str | None) -> None:
        combo = QComboBox()
        combo.setMinimumWidth(180)
        combo.addItem(NONE, None)
        for c in self.columns:
            combo.addItem(c, c)
        if column is not None:
            index = combo.findData(column)
            if index < 0:  # a mapped column the data does not have: keep it so the error can name it
                combo.addItem(f"{column} (missing)", column)
                index = combo.count() - 1
            combo.setCurrentIndex(index)
        position = len(self.combos) * 2
        self.row.insertWidget(position, combo)
        if self.combos:  # extra reference columns can be removed again
            remove = QToolButton()
            remove.setText("✕")
            remove.setToolTip("Remove this reference column")
            remove.clicked.connect(lambda: self._remove(combo, remove))
            self.row.insertWidget(position + 1, remove)
        else:
            spacer = QLabel()
            self.row.insertWidget(position + 1, spacer)
        self.combos.append(combo)
        combo.currentIndexChanged.connect(self.changed)
        self.changed.emit()

    def _remove(self, combo: QComboBox, button: QToolButton) -> None:
        self.combos.remove(combo)
        combo.deleteLater()
        button.deleteLater()
        self.changed.emit()

    def selected(self) -> list[str]:
        out = []
        for combo in self.combos:
            value = combo.currentData()
            if value and value not in out:
                out.append(value)
        return out


class MappingStep(WizardStep):
    title = "2 · Columns and task"
    subtitle = "Choose what the model should learn, and which column of your data fills each part of it."

    def __init__(self, state, context, parent=None):
        super().__init__(state, context, parent)
        self._table_version: int | None = None
        self.choices: dict[str, ColumnChoices] = {}
        self.param_edits: dict[str, QLineEdit] = {}

        top = QHBoxLayout()
        self.task_combo = QComboBox()
        for name, spec in TASKS.items():
            self.task_combo.addItem(spec.title, name)
        self.task_combo.setMinimumWidth(280)
        self.task_combo.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.task_combo.activated.connect(self._task_chosen)
        self.task_description = QLabel()
        self.task_description.setWordWrap(True)
        self.task_description.setObjectName("Hint")
        top.addWidget(QLabel("Task"))
        top.addWidget(self.task_combo)
        top.addSpacing(12)
        top.addWidget(self.task_description, 1)
        self.body.addLayout(top)

        self.body.addWidget(section_label("Fields"))
        self.fields_holder = QWidget()
        self.fields_form = QFormLayout(self.fields_holder)
        self.fields_form.setContentsMargins(0, 0, 0, 0)
        self.body.addWidget(self.fields_holder)

        self.body.addWidget(section_label("The first rows, as the task will read them"))
        self.mapped = RecordsModel(self)
        self.mapped_view = QTableView()
        self.mapped_view.setModel(self.mapped)
        self.mapped_view.setAlternatingRowColors(True)
        self.mapped_view.setWordWrap(False)
        self.mapped_view.verticalHeader().setDefaultSectionSize(22)
        self.mapped_view.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.body.addWidget(self.mapped_view, 1)

    # wizard ------------------------------------------------------------------------------------
    def enter(self) -> None:
        table = self.state.table
        if table is None or self.state.table_version == self._table_version:
            self._refresh_preview()
            return
        self._table_version = self.state.table_version
        task = self.state.sample_task or self.state.task
        if task is None or (self.state.sample_task is None and not guess_mapping(task, table.columns)):
            task = best_task(table.columns)
        self._set_task(task, self.state.sample_mapping)

    def _task_chosen(self) -> None:
        task = self.task_combo.currentData()
        if self.state.table is not None:
            keep = self.state.sample_mapping if task == self.state.sample_task else None
            self._set_task(task, keep)

    def _set_task(self, task: str, mapping: dict[str, list[str]] | None) -> None:
        spec = get_task(task)
        self.task_combo.setCurrentIndex(self.task_combo.findData(task))
        self.task_description.setText(spec.description)
        columns = list(self.state.table.columns)
        if mapping is None:
            mapping = guess_mapping(task, columns)
        while self.fields_form.rowCount():
            self.fields_form.removeRow(0)
        self.choices, self.param_edits = {}, {}
        for name in spec.fields:
            optional = name in spec.optional_fields
            target = name == spec.target_field
            widget = ColumnChoices(columns, mapping.get(name, []), optional=optional, multiple=target)
            widget.changed.connect(self._refresh_preview)
            role = "target" if target else ("input, optional" if optional else "input")
            self.fields_form.addRow(f"{name} ({role})", widget)
            self.choices[name] = widget
        for param in spec.extra_params:
            edit = QLineEdit(self.state.params.get(param, "") if self.state.task == task else "")
            edit.setPlaceholderText(PARAM_HINTS.get(param, ""))
            edit.setMaximumWidth(520)
            self.fields_form.addRow(param.replace("_", " "), edit)
            self.param_edits[param] = edit
        self._refresh_preview()

    def current_mapping(self) -> dict[str, list[str]]:
        return {name: widget.selected() for name, widget in self.choices.items() if widget.selected()}

    def _refresh_preview(self) -> None:
        table = self.state.table
        if table is None:
            return
        mapping = self.current_mapping()
        self._say_unmapped(mapping)
        headers, rows = [], []
        for name, columns in mapping.items():
            for i, column in enumerate(columns):
                headers.append(f"{name} ← {column}" if len(columns) == 1 else f"{name} #{i + 1} ← {column}")
        for record in table.records[:20] if headers else []:
            row = {}
            k = 0
            for columns in mapping.values():
                for column in columns:
                    row[headers[k]] = record.get(column)
                    k += 1
            rows.append(row)
        self.mapped.set_records(rows, headers)

    def _say_unmapped(self, mapping: dict[str, list[str]]) -> None:
        """At once, not on Next: a required field without a column, with the columns whose names are close."""
        task = self.task_combo.currentData()
        columns = list(self.state.table.columns)
        lines = []
        for name in get_task(task).required_fields if task else ():
            if name in mapping:
                continue
            close = columns_like_field(name, columns)
            if close:
                lines.append(
                    f"No column is named like '{name}'; the closest: "
                    f"{', '.join(repr(c) for c in close)}. Pick it in the '{name}' box above."
                )
            else:
                lines.append(f"No column is named like '{name}'; pick one of: {', '.join(columns)}.")
        if lines:
            self.message.show_warning(" ".join(lines))
        elif self.message.kind == "warning":
            self.message.clear()

    def commit(self) -> bool:
        table = self.state.table
        task = self.task_combo.currentData()
        spec = get_task(task)
        mapping = self.current_mapping()
        columns = ", ".join(table.columns)
        for name in spec.required_fields:
            if name not in mapping:
                return self.fail(
                    f"No column is chosen for the field '{name}' of {spec.title.lower()}; "
                    f"pick one of the columns: {columns}."
                )
        for name, chosen in mapping.items():
            for column in chosen:
                if column not in table.columns:
                    return self.fail(
                        f"Column '{column}' (for '{name}') not found in {table.origin}; columns are: {columns}."
                    )
        self.state.task = task
        self.state.mapping = mapping
        self.state.params = {k: e.text().strip() for k, e in self.param_edits.items() if e.text().strip()}
        self.message.clear()
        return True
