"""*Where to run*: in this app (a worker thread, the default) or as a separate process on N
processes (``accelerate launch``; the CPU too, over gloo), plus saving and opening the run file.

The widget says how the global batch is shared between the processes (the user's batch × accumulation
stays the global batch) and offers only the ways to share the model that work here.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from ift_desktop.core.errors import UserError

IN_APP = "app"
SEPARATE = "process"
MAX_PROCESSES = 64


def strategies(gpus: int | None = None):
    from ift_desktop.core.training.launch import available_strategies

    return available_strategies(gpus)


class WhereToRun(QWidget):
    """``choice()`` → ``(IN_APP | SEPARATE, processes, strategy)``. ``save_requested`` and
    ``open_requested`` ask the page to save or open a run file."""

    changed = Signal()
    save_requested = Signal()
    open_requested = Signal()

    def __init__(self, parent=None, *, gpus: int | None = None):
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.addItem("In this app", IN_APP)
        self.mode.addItem("As a separate process", SEPARATE)
        self.mode.setToolTip(
            "In this app: training runs inside the window. As a separate process: it keeps going when the window "
            "closes, and can use several processes (all GPUs of this machine, or CPU processes)."
        )
        self.processes = QSpinBox()
        self.processes.setRange(1, MAX_PROCESSES)
        self.processes.setValue(max(1, gpus or 0))
        self.processes.setToolTip("How many processes train together (one per GPU; on a CPU they share its cores)")
        self.strategy = QComboBox()
        for item in strategies(gpus):
            self.strategy.addItem(item.label if item.available else f"{item.label} — {item.why_not}", item.key)
            if not item.available:
                self.strategy.model().item(self.strategy.count() - 1).setEnabled(False)
        self.strategy.setToolTip(
            "How the processes share the model; the Hugging Face Trainer runs each through accelerate"
        )
        for combo in (self.mode, self.strategy):  # long item texts must not widen the setup panel
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        self.split = QLabel()
        self.split.setObjectName("Hint")
        self.split.setWordWrap(True)
        self.save_button = QPushButton("Save run file…")
        self.save_button.setToolTip(
            "One file with the model, dataset and settings: `ift-desktop train --config FILE` runs exactly this"
        )
        self.open_button = QPushButton("Open run file…")
        self.open_button.setToolTip("Fill this page from a saved run file (launch.json) or a run's run.json")

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Run"), 0, 0)
        grid.addWidget(self.mode, 0, 1, 1, 3)
        self.processes_label = QLabel("Processes")
        grid.addWidget(self.processes_label, 1, 0)
        grid.addWidget(self.processes, 1, 1)
        grid.addWidget(self.strategy, 1, 2, 1, 2)
        grid.setColumnStretch(3, 1)
        files = QHBoxLayout()
        files.addWidget(self.save_button)
        files.addWidget(self.open_button)
        files.addStretch(1)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid, 0, 0)
        layout.addWidget(self.split, 1, 0)
        layout.addLayout(files, 2, 0)

        self.mode.currentIndexChanged.connect(self._on_change)
        self.processes.valueChanged.connect(self._on_change)
        self.strategy.currentIndexChanged.connect(self._on_change)
        self.save_button.clicked.connect(self.save_requested)
        self.open_button.clicked.connect(self.open_requested)
        self._config = None
        self._on_change()

    # ------------------------------------------------------------------------------------------
    def separate(self) -> bool:
        return self.mode.currentData() == SEPARATE

    def choice(self) -> tuple[str, int, str]:
        processes = self.processes.value() if self.separate() else 1
        return self.mode.currentData(), processes, self.strategy.currentData() or "ddp"

    def set_choice(self, processes: int, strategy: str = "ddp", *, separate: bool | None = None) -> None:
        if separate is None:
            separate = processes > 1
        self.mode.setCurrentIndex(1 if separate else 0)
        self.processes.setValue(max(1, processes))
        index = self.strategy.findData(strategy)
        if index >= 0 and self.strategy.model().item(index).isEnabled():
            self.strategy.setCurrentIndex(index)

    def show_config(self, config) -> None:
        """Say how the global batch of ``config`` (a TrainConfig, or None) is shared."""
        self._config = config
        self._on_change()

    def _on_change(self) -> None:
        separate = self.separate()
        for widget in (self.processes_label, self.processes, self.strategy):
            widget.setEnabled(separate)
        self.split.setText(self._split_text())
        self.changed.emit()

    def _split_text(self) -> str:
        if not self.separate():
            return "Trains inside this window; closing the window stops the run (its last checkpoint is kept)."
        keeps = "It keeps going when you close the window; the app finds it again on the next start."
        if self._config is None:
            return keeps
        from ift_desktop.core.training.launch import describe_split

        try:
            return describe_split(self._config, self.processes.value()) + " " + keeps
        except UserError as exc:
            return exc.one_line()
