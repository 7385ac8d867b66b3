"""The two "what" choices of the Train page: the base model and the prepared dataset.

``ModelPicker`` offers the built-in SmolLM2-135M-Instruct, a Hugging Face Hub id, a local folder and
the models used recently (kept in ``QSettings``), plus a per-model "trust remote code" box that is
off by default and warns when ticked. ``DatasetPicker`` lists the prepared datasets of the workspace
and, when there are none, a button that takes the user to the Data page.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.errors import ModelError
from ift_desktop.core.models.consent import forget_trusted, is_remembered, remember_trusted
from ift_desktop.core.models.spec import ModelSpec
from ift_desktop.ui.widgets.dataset_choice import DatasetChoice
from ift_desktop.ui.widgets.folders import last_folder, remember_folder

RECENT_KEY = "train/recent_models"
MAX_RECENT = 8
BUILTIN, HUB, FOLDER = "builtin", "hub", "folder"


class ModelPicker(QWidget):
    """Pick a base model; :meth:`spec` turns the choice into a :class:`ModelSpec`."""

    changed = Signal()

    def __init__(self, settings, parent=None):
        super().__init__(parent)
        self.settings = settings
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.source = QComboBox()
        self.source.setToolTip("Which model to fine-tune")
        self.source.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(24)
        layout.addWidget(self.source)

        self.hub_id = QLineEdit()
        self.hub_id.setPlaceholderText("Hugging Face Hub id, e.g. HuggingFaceTB/SmolLM2-360M-Instruct")
        self.hub_id.setToolTip("Downloaded once into the Hugging Face cache (needs a network the first time)")
        layout.addWidget(self.hub_id)

        folder_row = QWidget()
        folder_layout = QHBoxLayout(folder_row)
        folder_layout.setContentsMargins(0, 0, 0, 0)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("A folder with config.json and the weights")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_layout.addWidget(self.folder, 1)
        folder_layout.addWidget(browse)
        self.folder_row = folder_row
        layout.addWidget(folder_row)

        self.trust_remote_code = QCheckBox("Trust remote code for this model")
        self.trust_remote_code.setToolTip(
            "Lets the model folder run its own Python code when it loads. Only tick this for a model whose "
            "authors you trust. Remembered for this model on this computer (untick to withdraw it); a run "
            "folder's own files never tick it."
        )
        self.trust_warning = QLabel(
            "⚠ The model's own Python code will run on this computer with your permissions. "
            "Only do this for a model from a source you trust."
        )
        self.trust_warning.setWordWrap(True)
        self.trust_warning.setStyleSheet("color: #8a5300;")
        layout.addWidget(self.trust_remote_code)
        layout.addWidget(self.trust_warning)

        self._fill_sources()
        self.source.currentIndexChanged.connect(self._on_source)
        self.hub_id.editingFinished.connect(self._show_remembered_trust)
        self.folder.editingFinished.connect(self._show_remembered_trust)
        self.hub_id.editingFinished.connect(self.changed)
        self.folder.editingFinished.connect(self.changed)
        self.trust_remote_code.toggled.connect(self._on_trust)
        self._on_source()

    # choices ------------------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if str(v).strip()]

    def _fill_sources(self) -> None:
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItem("Built-in: SmolLM2-135M-Instruct (135 M parameters, offline)", (BUILTIN, ""))
        self.source.addItem("A Hugging Face Hub id…", (HUB, ""))
        self.source.addItem("A local folder…", (FOLDER, ""))
        recent = [r for r in self.recent() if r != "builtin"]
        if recent:
            self.source.insertSeparator(self.source.count())
            for text in recent:
                kind = FOLDER if Path(text).expanduser().is_absolute() else HUB
                self.source.addItem(f"Recent: {text}", (kind, text))
        self.source.blockSignals(False)

    def _on_source(self) -> None:
        kind, text = self.source.currentData() or (BUILTIN, "")
        if kind == HUB and text:
            self.hub_id.setText(text)
        if kind == FOLDER and text:
            self.folder.setText(text)
        self.hub_id.setVisible(kind == HUB)
        self.folder_row.setVisible(kind == FOLDER)
        self.trust_remote_code.setVisible(kind != BUILTIN)
        self._show_remembered_trust()
        self.changed.emit()

    def _on_trust(self, checked: bool) -> None:
        model = self._chosen_model()
        if model is not None:  # the user's own choice, kept in their settings folder (never in a run folder)
            (remember_trusted if checked else forget_trusted)(model)
        self.trust_warning.setVisible(bool(checked) and self.trust_remote_code.isVisible())
        self.changed.emit()

    def _chosen_model(self) -> ModelSpec | None:
        kind, text = self.kind(), self.text()
        if kind == BUILTIN or not text:
            return None
        try:
            return ModelSpec.parse(text)
        except ModelError:
            return None

    def _show_remembered_trust(self) -> None:
        """Tick the box exactly when the user allowed this model's code before."""
        model = self._chosen_model()
        self.trust_remote_code.blockSignals(True)
        self.trust_remote_code.setChecked(model is not None and is_remembered(model))
        self.trust_remote_code.blockSignals(False)
        self.trust_warning.setVisible(self.trust_remote_code.isChecked() and self.trust_remote_code.isVisible())

    def _browse(self) -> None:
        start = self.folder.text() or last_folder(self.settings, "model-folder", Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder", start)
        if folder:
            remember_folder(self.settings, "model-folder", folder)
            self.folder.setText(folder)
            self._show_remembered_trust()
            self.changed.emit()

    # results ------------------------------------------------------------------------------------
    def kind(self) -> str:
        return (self.source.currentData() or (BUILTIN, ""))[0]

    def text(self) -> str:
        kind = self.kind()
        if kind == HUB:
            return self.hub_id.text().strip()
        if kind == FOLDER:
            return self.folder.text().strip()
        return "builtin"

    def spec(self) -> ModelSpec:
        """The chosen model; raises :class:`ModelError` with a one-line reason when incomplete."""
        kind, text = self.kind(), self.text()
        if kind == HUB and not text:
            raise ModelError("No Hub id given; type one such as 'org/name', or choose the built-in model.")
        if kind == FOLDER:
            if not text:
                raise ModelError("No model folder given; choose a folder with config.json and the weights.")
            if not Path(text).expanduser().is_dir():
                raise ModelError(
                    f"Model folder {text} does not exist; choose a folder with config.json and the weights."
                )
            if not (Path(text).expanduser() / "config.json").is_file():
                raise ModelError(
                    f"Model folder {text} has no config.json; choose a folder saved in Hugging Face layout."
                )
        return ModelSpec.parse(text, trust_remote_code=self.trust_remote_code.isChecked() and kind != BUILTIN)

    def select(self, text: str) -> None:
        """Show ``text`` (``builtin``, a Hub id or a folder) as the current choice."""
        if text in ("", "builtin"):
            self.source.setCurrentIndex(0)
            return
        if Path(text).expanduser().is_absolute():
            self.folder.setText(text)
            self.source.setCurrentIndex(2)
        else:
            self.hub_id.setText(text)
            self.source.setCurrentIndex(1)
        self._show_remembered_trust()

    def remember(self, spec: ModelSpec) -> None:
        """Put ``spec`` first in the recent list (kept in QSettings)."""
        text = str(spec)
        if text == "builtin":
            return
        recent = [text] + [r for r in self.recent() if r != text]
        self.settings.setValue(RECENT_KEY, recent[:MAX_RECENT])
        current = self.text()
        self._fill_sources()
        self.select(current)


class DatasetPicker(QWidget):
    """The prepared datasets of the workspace; a way to the Data page when there are none."""

    changed = Signal()

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self._choice = DatasetChoice()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setToolTip("A dataset prepared on the Data page (train / validation / test splits)")
        self.combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(24)
        self.combo.currentIndexChanged.connect(self.changed)
        self.empty = QWidget()
        empty_layout = QHBoxLayout(self.empty)
        empty_layout.setContentsMargins(0, 0, 0, 0)
        note = QLabel("No prepared dataset yet.")
        note.setAlignment(Qt.AlignVCenter)
        self.go_to_data = QPushButton("Prepare one on the Data page…")
        self.go_to_data.clicked.connect(lambda: context.navigate.emit("data"))
        empty_layout.addWidget(note)
        empty_layout.addWidget(self.go_to_data, 1)
        layout.addWidget(self.combo)
        layout.addWidget(self.empty)
        context.datasets_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        current = self.current_path()
        self.combo.blockSignals(True)
        self.combo.clear()
        datasets = self.context.workspace.list_datasets()  # newest first
        for item in datasets:
            summary = item.summary or {}
            counts = summary.get("counts") or {}
            parts = [str(summary.get("task") or "").strip()]
            if counts:
                parts.append(f"{counts.get('train', 0)} train / {counts.get('validation', 0)} val")
            detail = " · ".join(p for p in parts if p)
            self.combo.addItem(f"{item.name}  ({detail})" if detail else item.name, str(item.path))
        chosen = self._choice.choose([str(item.path) for item in datasets], current)
        if chosen:
            self.combo.setCurrentIndex(max(0, self.combo.findData(chosen)))
        self.combo.blockSignals(False)
        has_any = self.combo.count() > 0
        self.combo.setVisible(has_any)
        self.empty.setVisible(not has_any)
        self.changed.emit()

    def current_path(self) -> str | None:
        data = self.combo.currentData()
        return str(data) if data else None

    def select(self, path: str) -> None:
        index = self.combo.findData(str(path))
        if index >= 0:
            self.combo.setCurrentIndex(index)
