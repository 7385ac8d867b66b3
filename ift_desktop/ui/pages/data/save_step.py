"""Step 6 — save: name the dataset and write it into the workspace, ready for training.

The prepared splits are written by the data core's atomic ``write_dataset`` in a worker into
``workspace/datasets/<name>`` (a new folder; an existing dataset is never touched). On success the
step says where the files went, tells the other pages (``datasets_changed``) and offers to go on
to training.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton

from ift_desktop.core.data.tasks import get_task

from .jobs import save_dataset
from .step import WizardStep, section_label


def default_name(state) -> str:
    if state.extra:
        return "mixture-" + "-".join(dict.fromkeys([state.task or "", *(e.config.task for e in state.extra)]))
    spec = state.source_spec
    if spec.startswith("sample:"):
        base = spec.split(":", 1)[1]
    elif spec.startswith("hf:"):
        base = spec[3:].split(":")[0].split("/")[-1]
    else:
        base = Path(spec).stem
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "dataset"
    return f"{base}-{state.task}" if state.task and state.task not in base else base


class SaveStep(WizardStep):
    title = "6 · Save"
    subtitle = "Name the instruction dataset and save it into your workspace; the Train page lists it."

    def __init__(self, state, context, parent=None):
        super().__init__(state, context, parent)
        self.saved_path: Path | None = None
        self._named_for: tuple | None = None
        form = QFormLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setMinimumWidth(320)
        self.name_edit.setPlaceholderText("e.g. dialogsum-summaries")
        self.name_edit.returnPressed.connect(self.save)
        self.save_button = QPushButton("Save dataset")
        self.save_button.setDefault(True)
        self.save_button.setObjectName("Primary")
        self.save_button.clicked.connect(self.save)
        row = QHBoxLayout()
        row.addWidget(self.name_edit, 1)
        row.addWidget(self.save_button)
        form.addRow("Name", row)
        self.body.addLayout(form)
        self.body.addWidget(section_label("What will be saved"))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.body.addWidget(self.summary)
        self.where = QLabel()
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.body.addWidget(self.where)
        after = QHBoxLayout()
        self.open_button = QPushButton("Open the folder")
        self.open_button.clicked.connect(self._open_folder)
        self.train_button = QPushButton("Go to Train →")
        self.train_button.setObjectName("Primary")
        self.train_button.clicked.connect(lambda: self.context.navigate.emit("train"))
        after.addWidget(self.open_button)
        after.addWidget(self.train_button)
        after.addStretch(1)
        self.body.addLayout(after)
        self.body.addStretch(1)
        self._show_saved(None)

    def enter(self) -> None:
        state = self.state
        if self._named_for != state.plan_key:
            self._named_for = state.plan_key
            self.name_edit.setText(default_name(state))
            self._show_saved(None)
            self.message.clear()  # a "Saved" banner belongs to the dataset it saved, not to these examples
        self.summary.setText(self._summary_html())

    def _summary_html(self) -> str:
        state = self.state
        splits = state.splits or {}
        counts = {name: len(splits[name]) for name in ("train", "validation", "test")} if splits else {}
        lines = [
            f"Source: <b>{html.escape(state.source_label or state.source_spec)}</b>",
            f"Task: <b>{get_task(state.task).title if state.task else '—'}</b> · template: "
            f"<b>{html.escape(state.template or 'default')}</b> · mapping: "
            + html.escape(", ".join(f"{k} ← {' + '.join(v)}" for k, v in state.mapping.items())),
        ]
        if state.extra:
            lines.append("Mixed with: " + ", ".join(html.escape(e.label) for e in state.extra))
        if counts:
            lines.append(
                f"Examples: train <b>{counts['train']:,}</b> · validation <b>{counts['validation']:,}</b> · "
                f"test <b>{counts['test']:,}</b> (seed {state.seed})"
            )
        tokens = state.token_summary
        if tokens and tokens.get("plan") == state.plan_key:
            lines.append(
                f"Tokens ({html.escape(str(tokens['model']))}): {tokens['n_truncated']:,} of "
                f"{tokens['count']:,} examples longer than {tokens['max_length']} "
                f"({tokens['share_truncated']:.1%}); recorded in the manifest"
            )
        if state.leakage:
            lines.append(f"<span style='color:#8a5300;'>⚠ {html.escape(' '.join(state.leakage))}</span>")
        lines.append(
            f"Files: train.jsonl, validation.jsonl, test.jsonl and manifest.json in "
            f"{html.escape(str(self.context.workspace.datasets_dir))}"
        )
        return "<br>".join(lines)

    def _show_saved(self, path: Path | None) -> None:
        self.saved_path = path
        self.open_button.setVisible(path is not None)
        self.train_button.setVisible(path is not None)
        self.where.setText(f"Saved in {path}" if path else "")

    def commit(self) -> bool:
        return True

    def save(self) -> None:
        name = self.name_edit.text().strip()
        if not name:
            self.fail("Give the dataset a name first.")
            return
        plan = self.state.plan
        if plan is None or not self.state.splits:
            self.fail("There is nothing to save yet; go back to 'Split and mixture' and let the examples be prepared.")
            return
        out_dir = self.context.workspace.new_dataset_path(name)
        self.save_button.setEnabled(False)

        def saved(path):
            self.save_button.setEnabled(True)
            self._show_saved(Path(path))
            counts = plan.counts
            self.message.show_success(
                f"Saved '{Path(path).name}': {counts['train']:,} train, {counts['validation']:,} validation and "
                f"{counts['test']:,} test examples in {path}."
            )
            self.context.datasets_changed.emit()
            self.context.status_message.emit(f"Dataset '{Path(path).name}' saved")

        summary = self.state.token_summary
        extra = {"max_length": int(self.state.max_length)}  # the Train page starts from the length chosen here
        if summary and summary.get("plan") == self.state.plan_key:  # measured on exactly these examples
            extra["token_stats"] = {k: v for k, v in summary.items() if k != "plan"}
        self.runner.start(
            save_dataset,
            plan,
            out_dir,
            name=out_dir.name,
            progress_text=f"Saving {out_dir.name}…",
            extra=extra,
            on_done=saved,
            on_failed=lambda _t: self.save_button.setEnabled(True),
            on_cancelled=lambda: self.save_button.setEnabled(True),
        )

    def _open_folder(self) -> None:
        if self.saved_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.saved_path)))
