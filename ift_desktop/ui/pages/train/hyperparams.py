"""The hyper-parameter form, built from the ``TrainConfig`` dataclass itself.

Each setting (core/training/setting_fields.py) becomes an editor chosen by its type (check box, spin
box, number field, choice list, comma-separated list), labelled with its ``label``; its default is the
dataclass default, its tooltip its help text, and what an empty value means its ``empty`` text, so the
form can never drift from what the trainer accepts. Settings with ``advanced=False`` are shown; the
rest sit under an "Advanced" fold, each group in field order. Values are checked by ``TrainConfig``
itself (``__post_init__``), so the page and the CLI reject the same nonsense with the same words.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.errors import TrainingError
from ift_desktop.core.training.setting_fields import SettingInfo, settings_of

INT_MAX = 2**31 - 1


def _format_float(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{value:g}"


class _Editor:
    """One setting's widget plus how to read and write its value."""

    def __init__(self, info: SettingInfo):
        self.info = info
        self.name = info.name
        self.optional = info.optional
        self.base = info.kind
        choices = info.choices
        if info.kind is bool and self.optional:
            choices = (True, False)
        self.choices = tuple(choices) if choices else None
        if info.kind is bool and not self.optional:
            self.widget = QCheckBox()
        elif self.choices:
            self.widget = QComboBox()
            if self.optional:
                self.widget.addItem(info.empty, None)
            for choice in self.choices:
                text = {True: "yes", False: "no"}.get(choice, str(choice)) if isinstance(choice, bool) else str(choice)
                self.widget.addItem(text, choice)
        elif info.kind is int:
            self.widget = QSpinBox()
            # zero and negatives stay typeable: TrainConfig judges them and says what is sensible
            self.widget.setRange(-1 if self.optional else -INT_MAX, INT_MAX)
            if self.optional:
                self.widget.setSpecialValueText(info.empty)
            self.widget.setAccelerated(True)
        else:  # float, str, lists: typed as text, parsed and then judged by TrainConfig
            self.widget = QLineEdit()
            if self.optional:
                self.widget.setPlaceholderText(info.empty)
        if info.help:
            self.widget.setToolTip(info.help)
        self.widget.setMaximumWidth(220)
        if isinstance(self.widget, QComboBox):
            self.widget.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            self.widget.setMinimumContentsLength(12)

    def is_list(self) -> bool:
        return self.info.is_list

    def set(self, value: Any) -> None:
        w = self.widget
        if isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, QComboBox):
            index = w.findData(value)
            w.setCurrentIndex(max(index, 0))
        elif isinstance(w, QSpinBox):
            w.setValue(-1 if value is None else int(value))
        elif value is None:
            w.setText("")
        elif self.is_list():
            w.setText(", ".join(str(v) for v in value))
        elif isinstance(value, float):
            w.setText(_format_float(value))
        else:
            w.setText(str(value))

    def get(self, label: str) -> Any:
        w = self.widget
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QSpinBox):
            return None if (self.optional and w.value() == -1) else w.value()
        text = w.text().strip()
        if not text and self.optional:
            return None
        if self.is_list():
            items = [part.strip() for part in text.split(",") if part.strip()]
            return items
        if self.base is float:
            try:
                value = float(text)
            except ValueError:
                raise TrainingError(
                    f"{label}: '{text}' is not a number; type a number such as 0.0003 or 3e-4."
                ) from None
            if not math.isfinite(value):
                raise TrainingError(f"{label}: '{text}' is not a finite number; type a number such as 0.0003.")
            return value
        return text


class HyperParameterForm(QWidget):
    """Editors for the settings of ``config_cls`` shown in the form (``in_form``); the common ones
    (``advanced=False``) above the "Advanced" fold."""

    changed = Signal()

    def __init__(self, config_cls, parent=None):
        super().__init__(parent)
        self.config_cls = config_cls
        self.editors: dict[str, _Editor] = {}
        self.labels: dict[str, str] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        common_form = QFormLayout()
        common_form.setFieldGrowthPolicy(QFormLayout.FieldsStayAtSizeHint)
        advanced_body = QWidget()
        advanced_form = QFormLayout(advanced_body)
        advanced_form.setContentsMargins(12, 0, 0, 0)
        advanced_form.setFieldGrowthPolicy(QFormLayout.FieldsStayAtSizeHint)
        for form in (common_form, advanced_form):
            form.setRowWrapPolicy(QFormLayout.WrapLongRows)  # a narrow panel puts the field under its label
        shown = [info for info in settings_of(config_cls) if info.in_form]
        for info in sorted(shown, key=lambda info: info.advanced):  # stable: field order within each group
            editor = _Editor(info)
            self.editors[info.name] = editor
            self.labels[info.name] = info.label
            form = advanced_form if info.advanced else common_form
            form.addRow(info.label, editor.widget)
            form.labelForField(editor.widget).setToolTip(editor.widget.toolTip())
            signal = getattr(editor.widget, "toggled", None) or getattr(editor.widget, "currentIndexChanged", None)
            if signal is None:
                signal = (
                    editor.widget.valueChanged if isinstance(editor.widget, QSpinBox) else editor.widget.textChanged
                )
            signal.connect(self.changed)
        layout.addLayout(common_form)
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced_toggle.toggled.connect(self._fold)
        self.advanced = advanced_body
        advanced_body.setVisible(False)
        if advanced_form.rowCount():
            layout.addWidget(self.advanced_toggle)
            layout.addWidget(advanced_body)
        self.reset()

    def _fold(self, open_: bool) -> None:
        self.advanced_toggle.setArrowType(Qt.DownArrow if open_ else Qt.RightArrow)
        self.advanced.setVisible(open_)

    def reset(self) -> None:
        """Show the dataclass defaults."""
        for editor in self.editors.values():
            editor.set(editor.info.default)

    def values(self) -> dict[str, Any]:
        """What the form says, parsed; raises :class:`TrainingError` for text that is not a number."""
        return {name: editor.get(self.labels[name]) for name, editor in self.editors.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name in self.editors:
                self.editors[name].set(value)

    def widget_for(self, name: str):
        return self.editors[name].widget
