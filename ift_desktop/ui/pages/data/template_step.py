"""Step 3 — template: how each row becomes a prompt and a completion.

The library's phrasings for the chosen task are listed (built-in FLAN-style ones and the user's
own); "random phrasing per example" draws one per example. A custom template is written in the
editor (Jinja over the task's fields) and saved into the workspace's template folder. The
preview renders the first rows live with the data core's ``build_examples``, so a template that
names a field the data does not have shows the core's error inline, with the real columns.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.data.prepare import build_examples
from ift_desktop.core.data.sources import Table
from ift_desktop.core.data.tasks import get_task
from ift_desktop.core.data.templates import RANDOM, Template, TemplateLibrary
from ift_desktop.core.errors import DataError, UserError

from .step import WizardStep, section_label

PREVIEW_ROWS = 200  # rows rendered for the preview (classification options are read from them)
PREVIEW_SHOWN = 3


class DraftLibrary(TemplateLibrary):
    """The user's library plus one unsaved template being edited (for the live preview only)."""

    def __init__(self, base: TemplateLibrary, draft: Template):
        self.__dict__.update(base.__dict__)
        self._draft = draft

    def templates(self, task: str | None = None) -> list[Template]:
        found = [t for t in super().templates(task) if t.name != self._draft.name]
        return found + ([self._draft] if task in (None, self._draft.task) else [])


def preview_examples(table: Table, config, library: TemplateLibrary, n: int = PREVIEW_SHOWN) -> list[dict]:
    """The first ``n`` examples ``build_examples`` renders from the first rows of ``table``."""
    head = Table(table.records[:PREVIEW_ROWS], table.columns, table.origin)
    return build_examples(head, config, library)[:n]


def examples_html(examples: list[dict]) -> str:
    blocks = []
    for i, example in enumerate(examples, start=1):
        prompt = html.escape(example["prompt"]).replace("\n", "<br>")
        completion = html.escape(example["completion"]).replace("\n", "<br>")
        refs = example.get("references") or []
        extra = f" · {len(refs)} references" if len(refs) > 1 else ""
        blocks.append(
            f"<p style='color:#666; margin:8px 0 2px 0;'>Example {i} · template <b>{html.escape(example['template'])}"
            f"</b>{extra}</p>"
            "<table width='100%' cellspacing='0' cellpadding='6' style='border-collapse:collapse;'>"
            f"<tr><td width='90' style='background:#eef2f7; color:#456;'>Prompt</td>"
            f"<td style='background:#f7f9fc;'>{prompt}</td></tr>"
            f"<tr><td style='background:#fff1dc; color:#7a4b00;'>Completion</td>"
            f"<td style='background:#fffaf2;'>{completion}</td></tr></table>"
        )
    return "".join(blocks)


class TemplateStep(WizardStep):
    title = "3 · Template"
    subtitle = "Pick how each row is phrased as an instruction, or write your own; the preview renders your data."

    def __init__(self, state, context, parent=None):
        super().__init__(state, context, parent)
        self.library = TemplateLibrary(user_dir=context.workspace.templates_dir)
        self._task: str | None = None
        self._editing = False
        self._preview_key: tuple | None = None
        self.preview_error: str = ""

        split = QSplitter(Qt.Horizontal)
        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)
        self.list_title = section_label("Phrasings")
        left_box.addWidget(self.list_title)
        self.template_list = QListWidget()
        self.template_list.currentItemChanged.connect(self._template_selected)
        left_box.addWidget(self.template_list, 1)
        self.random_box = QCheckBox("Random phrasing per example")
        self.random_box.setToolTip("Each example gets one of the task's built-in phrasings, drawn with the seed.")
        self.random_box.toggled.connect(self._random_toggled)
        left_box.addWidget(self.random_box)
        buttons = QHBoxLayout()
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("Write a template of your own for this task")
        self.copy_button = QPushButton("Duplicate to edit")
        self.copy_button.setToolTip("Built-in phrasings are read-only: edit a copy of the selected one")
        self.delete_button = QPushButton("Delete")
        self.new_button.clicked.connect(lambda: self.start_editing(copy=False))
        self.copy_button.clicked.connect(lambda: self.start_editing(copy=True))
        self.delete_button.clicked.connect(self._delete)
        for b in (self.new_button, self.copy_button, self.delete_button):
            buttons.addWidget(b)
        left_box.addLayout(buttons)

        right = QWidget()
        right_box = QVBoxLayout(right)
        right_box.setContentsMargins(8, 0, 0, 0)
        right_box.addWidget(section_label("Template"))
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("a name for your template, e.g. my-summary")
        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setFixedHeight(110)
        self.completion_edit = QLineEdit()
        self.fields_hint = QLabel()
        self.fields_hint.setWordWrap(True)
        self.fields_hint.setObjectName("Hint")
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setObjectName("Hint")
        form.addRow("Name", self.name_edit)
        form.addRow("", self.description)
        form.addRow("Prompt", self.prompt_edit)
        form.addRow("Completion", self.completion_edit)
        form.addRow("", self.fields_hint)
        right_box.addLayout(form)
        edit_buttons = QHBoxLayout()
        edit_buttons.addStretch(1)
        self.discard_button = QPushButton("Discard")
        self.save_button = QPushButton("Save template")
        self.discard_button.clicked.connect(self.stop_editing)
        self.save_button.clicked.connect(self.save_template)
        edit_buttons.addWidget(self.discard_button)
        edit_buttons.addWidget(self.save_button)
        right_box.addLayout(edit_buttons)
        right_box.addWidget(section_label("Preview — your first rows, rendered"))
        self.preview = QTextBrowser()
        right_box.addWidget(self.preview, 1)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([300, 900])
        self.body.addWidget(split, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.refresh_preview)
        for signal in (self.prompt_edit.textChanged, self.completion_edit.textChanged):
            signal.connect(self._timer.start)
        self._set_editing(False)

    # wizard ------------------------------------------------------------------------------------
    def enter(self) -> None:
        task = self.state.task
        if task != self._task:
            self._task = task
            self._set_editing(False)
            self._fill_list(select=self._default_name())
        key = (self.state.table_version, task, repr(self.state.mapping), repr(self.state.params))
        if key != self._preview_key:
            self._preview_key = key
            self.refresh_preview()

    def commit(self) -> bool:
        if self._editing:
            return self.fail("Save your template (or press Discard) before going on.")
        if not self.random_box.isChecked() and self.template_list.currentItem() is None:
            return self.fail("Pick a phrasing from the list, or tick 'Random phrasing per example'.")
        self.refresh_preview()
        if self.preview_error:
            return self.fail(self.preview_error)
        self.state.template = self.selected_template_name()
        return True

    # list --------------------------------------------------------------------------------------
    def _available_fields(self) -> set[str]:
        fields = set(self.state.mapping) | set(self.state.params)
        if self.state.task == "classification":
            fields.add("options")
        return fields

    def _default_name(self) -> str | None:
        if not self.state.task:
            return None
        try:
            return self.library.default_for(self.state.task, self._available_fields()).name
        except UserError:
            return None

    def _fill_list(self, select: str | None) -> None:
        self.template_list.blockSignals(True)
        self.template_list.clear()
        task = self.state.task
        spec = get_task(task) if task else None
        self.list_title.setText(f"Phrasings for {spec.title.lower()}" if spec else "Phrasings")
        for t in self.library.templates(task):
            item = QListWidgetItem(t.name if t.builtin else f"{t.name}  (yours)")
            item.setData(Qt.UserRole, t.name)
            item.setToolTip(t.description or t.prompt)
            self.template_list.addItem(item)
            if t.name == select:
                self.template_list.setCurrentItem(item)
        if self.template_list.currentItem() is None and self.template_list.count():
            self.template_list.setCurrentRow(0)
        self.template_list.blockSignals(False)
        if spec:
            names = ", ".join(f"{{{{ {f} }}}}" for f in sorted(self._available_fields()))
            self.fields_hint.setText(f"Fields you can use: {names}. Jinja works: {{% if input %}}…{{% endif %}}.")
        self._template_selected()

    def selected_template_name(self) -> str | None:
        if self.random_box.isChecked():
            return RANDOM
        item = self.template_list.currentItem()
        return item.data(Qt.UserRole) if item else None

    def _template_selected(self, *_args) -> None:
        if self._editing:
            return
        name = self.selected_template_name()
        shown = name if name and name != RANDOM else None
        item = self.template_list.currentItem()
        if shown is None and item is not None:
            shown = item.data(Qt.UserRole)
        if shown:
            t = self.library.get(shown)
            self._show_template(t)
            self.delete_button.setEnabled(not t.builtin)
        self.refresh_preview()

    def _show_template(self, t: Template) -> None:
        for w in (self.prompt_edit, self.completion_edit):
            w.blockSignals(True)
        self.name_edit.setText(t.name)
        self.description.setText(
            ("Built-in, read-only (Duplicate to edit): " if t.builtin else "Yours: ")
            + (t.description or "no description.")
        )
        self.prompt_edit.setPlainText(t.prompt)
        self.completion_edit.setText(t.completion)
        for w in (self.prompt_edit, self.completion_edit):
            w.blockSignals(False)

    def _random_toggled(self, on: bool) -> None:
        self.template_list.setEnabled(not on and not self._editing)
        self.refresh_preview()

    # editing -----------------------------------------------------------------------------------
    def _set_editing(self, on: bool) -> None:
        self._editing = on
        self.name_edit.setReadOnly(not on)
        self.prompt_edit.setReadOnly(not on)
        self.completion_edit.setReadOnly(not on)
        # read-only fields look it: greyed, so typing into a built-in phrasing is not expected
        look = "" if on else "background: #f2f4f7; color: #475467;"
        for edit in (self.name_edit, self.prompt_edit, self.completion_edit):
            edit.setStyleSheet(look)
        self.save_button.setVisible(on)
        self.discard_button.setVisible(on)
        for b in (self.new_button, self.copy_button):
            b.setEnabled(not on)
        self.template_list.setEnabled(not on and not self.random_box.isChecked())
        self.random_box.setEnabled(not on)

    def start_editing(self, *, copy: bool) -> None:
        task = self.state.task or "summarization"
        if copy and self.template_list.currentItem() is not None:
            base = self.library.get(self.template_list.currentItem().data(Qt.UserRole))
            prompt, completion, name = base.prompt, base.completion, f"my-{base.name}"
        else:
            spec = get_task(task)
            inputs = "\n".join(f"{{{{ {f} }}}}" for f in spec.input_fields if f not in spec.optional_fields)
            prompt, name = f"Your instruction here:\n{inputs}", f"my-{task}"
            completion = f"{{{{ {spec.target_field} }}}}"
        self.random_box.setChecked(False)
        self._set_editing(True)
        self.name_edit.setText(name)
        self.description.setText("Your own template: give it a name, edit it, then Save template.")
        self.prompt_edit.setPlainText(prompt)
        self.completion_edit.setText(completion)
        self.prompt_edit.setFocus()
        self.refresh_preview()

    def draft(self) -> Template:
        return Template(
            self.name_edit.text().strip() or "my-template",
            self.state.task or "summarization",
            self.prompt_edit.toPlainText(),
            self.completion_edit.text(),
            builtin=False,
        )

    def save_template(self) -> None:
        draft = self.draft()
        self.refresh_preview()
        if self.preview_error:
            return
        try:
            self.library.save_user_template(draft)
        except UserError as exc:
            self.fail(exc)
            return
        self._set_editing(False)
        self._fill_list(select=draft.name)
        self.message.show_success(f"Saved your template '{draft.name}' in {self.library.user_dir}.")

    def stop_editing(self) -> None:
        self._set_editing(False)
        self._template_selected()

    def _delete(self) -> None:
        item = self.template_list.currentItem()
        if item is None:
            return
        try:
            self.library.delete_user_template(item.data(Qt.UserRole))
        except UserError as exc:
            self.fail(exc)
            return
        self._fill_list(select=self._default_name())

    # preview -----------------------------------------------------------------------------------
    def refresh_preview(self) -> None:
        self._timer.stop()
        table, task = self.state.table, self.state.task
        if table is None or not task:
            return
        library = self.library
        name = self.selected_template_name()
        if self._editing:
            draft = self.draft()
            library, name = DraftLibrary(self.library, draft), draft.name
        config = self.state.prepare_config()
        config.template = name
        try:
            examples = preview_examples(table, config, library)
        except UserError as exc:
            text = exc.one_line()
            if isinstance(exc, DataError) and "provide" in text:
                text = text.replace(" (--map FIELD=COLUMN)", " on step 2")
                text += f" Your columns are: {', '.join(table.columns)}."
            self.preview_error = text
            self.message.show_error(text)
            self.preview.setHtml(f"<p style='color:#b3261e;'>No preview: {html.escape(text)}</p>")
            return
        self.preview_error = ""
        if self.message.kind == "error":
            self.message.clear()
        self.preview.setHtml(examples_html(examples))
