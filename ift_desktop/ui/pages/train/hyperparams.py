"""The hyper-parameter form, built from the ``TrainConfig`` dataclass itself.

Each field becomes an editor chosen by its type (check box, spin box, number field, choice list,
comma-separated list); its default is the dataclass default and its tooltip the field's
``metadata["help"]``, so the form can never drift from what the trainer accepts. The common fields
are shown; the rest sit under an "Advanced" fold. Values are checked by ``TrainConfig`` itself
(``__post_init__``), so the page and the CLI reject the same nonsense with the same words.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
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

INT_MAX = 2**31 - 1
NONE_TEXT = "auto"


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


def _format_float(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{value:g}"


class _Editor:
    """One field's widget plus how to read and write its value."""

    def __init__(self, field: dataclasses.Field, hint: Any, choices=None, none_text: str = NONE_TEXT):
        self.field = field
        self.name = field.name
        base, self.optional = _unwrap_optional(hint)
        self.base = base
        if typing.get_origin(base) is typing.Literal:
            choices = typing.get_args(base)
        choices = choices or field.metadata.get("choices")
        if base is bool and self.optional:
            choices = (True, False)
        self.choices = tuple(choices) if choices else None
        if base is bool and not self.optional:
            self.widget = QCheckBox()
        elif self.choices:
            self.widget = QComboBox()
            if self.optional:
                self.widget.addItem(none_text, None)
            for choice in self.choices:
                text = {True: "yes", False: "no"}.get(choice, str(choice)) if isinstance(choice, bool) else str(choice)
                self.widget.addItem(text, choice)
        elif base is int:
            self.widget = QSpinBox()
            # zero and negatives stay typeable: TrainConfig judges them and says what is sensible
            self.widget.setRange(-1 if self.optional else -INT_MAX, INT_MAX)
            if self.optional:
                self.widget.setSpecialValueText(none_text)
            self.widget.setAccelerated(True)
        else:  # float, str, lists: typed as text, parsed and then judged by TrainConfig
            self.widget = QLineEdit()
            if self.optional:
                self.widget.setPlaceholderText(none_text)
        help_text = field.metadata.get("help")
        if help_text:
            self.widget.setToolTip(str(help_text))
        self.widget.setMaximumWidth(220)
        if isinstance(self.widget, QComboBox):
            self.widget.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            self.widget.setMinimumContentsLength(12)

    def is_list(self) -> bool:
        return typing.get_origin(self.base) in (list, tuple) or self.base in (list, tuple)

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
            return tuple(items) if typing.get_origin(self.base) is tuple or self.base is tuple else items
        if self.base is float:
            try:
                value = float(text)
            except ValueError:
                raise TrainingError(f"{label}: '{text}' is not a number; type a number such as 0.0003 or 3e-4.") from None
            if not math.isfinite(value):
                raise TrainingError(f"{label}: '{text}' is not a finite number; type a number such as 0.0003.")
            return value
        return text


class HyperParameterForm(QWidget):
    """Editors for the fields of ``config_cls`` except ``skip``; ``common`` ones outside the fold."""

    changed = Signal()

    def __init__(
        self,
        config_cls,
        common: tuple[str, ...],
        skip: tuple[str, ...] = (),
        *,
        labels: dict[str, str] | None = None,
        choices: dict[str, tuple] | None = None,
        none_texts: dict[str, str] | None = None,
        parent=None,
    ):
        super().__init__(parent)
        labels, choices, none_texts = labels or {}, choices or {}, none_texts or {}
        self.config_cls = config_cls
        hints = typing.get_type_hints(config_cls)
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
        fields = [f for f in dataclasses.fields(config_cls) if f.init and f.name not in skip]
        order = {name: i for i, name in enumerate(common)}
        for field in sorted(fields, key=lambda f: order.get(f.name, len(order))):
            editor = _Editor(
                field, hints.get(field.name, str), choices.get(field.name), none_texts.get(field.name, NONE_TEXT)
            )
            label = labels.get(field.name) or field.name.replace("_", " ").capitalize()
            self.editors[field.name] = editor
            self.labels[field.name] = label
            form = common_form if field.name in order else advanced_form
            form.addRow(label, editor.widget)
            form.labelForField(editor.widget).setToolTip(editor.widget.toolTip())
            signal = getattr(editor.widget, "toggled", None) or getattr(editor.widget, "currentIndexChanged", None)
            if signal is None:
                signal = editor.widget.valueChanged if isinstance(editor.widget, QSpinBox) else editor.widget.textChanged
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
        for field in dataclasses.fields(self.config_cls):
            editor = self.editors.get(field.name)
            if editor is None:
                continue
            if field.default is not dataclasses.MISSING:
                editor.set(field.default)
            elif field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                editor.set(field.default_factory())  # type: ignore[misc]

    def values(self) -> dict[str, Any]:
        """What the form says, parsed; raises :class:`TrainingError` for text that is not a number."""
        return {name: editor.get(self.labels[name]) for name, editor in self.editors.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name in self.editors:
                self.editors[name].set(value)

    def widget_for(self, name: str):
        return self.editors[name].widget
