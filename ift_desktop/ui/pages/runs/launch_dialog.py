"""The Runs page's "Launch command…": the same run again on this machine's GPUs or on a cluster.

Shows the ``accelerate launch`` command (one node) or the ``torchrun`` command (several nodes) for
N nodes × M GPUs, copies it, and writes ``launch.sh`` and a Slurm batch script ``slurm.sbatch``
into the run folder (with the run file ``launch.json`` and ``accelerate.yaml`` they start from).
Nothing is submitted: the user runs them where the GPUs are.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from ift_desktop.core.errors import UserError
from ift_desktop.ui.widgets.messages import InlineMessage


def command_for(run_dir: Path, nodes: int, gpus_per_node: int) -> str:
    from ift_desktop.core.training.launch import launch_command, torchrun_command

    if nodes <= 1:
        return launch_command(run_dir, processes=gpus_per_node)
    return torchrun_command(run_dir, nodes=nodes, gpus_per_node=gpus_per_node)


class LaunchDialog(QDialog):
    def __init__(self, run_dir: str | Path, parent=None, *, gpus: int | None = None):
        from ift_desktop.core.training.launch import gpu_count

        super().__init__(parent)
        self.run_dir = Path(run_dir)
        self.setWindowTitle(f"Launch {self.run_dir.name} elsewhere")
        self.nodes = QSpinBox()
        self.nodes.setRange(1, 1024)
        self.gpus = QSpinBox()
        self.gpus.setRange(1, 64)
        self.gpus.setValue(max(1, gpus if gpus is not None else gpu_count()))
        intro = QLabel(
            "Start this run again (into a new folder) on N machines × M GPUs. The global batch of the run stays as set: "
            "each process takes its share. The run file, the dataset and the output folder must be on a disk every "
            "machine sees at the same path."
        )
        intro.setWordWrap(True)
        intro.setObjectName("Hint")
        form = QFormLayout()
        form.addRow("Machines (nodes)", self.nodes)
        form.addRow("GPUs per machine", self.gpus)
        self.command = QPlainTextEdit()
        self.command.setReadOnly(True)
        self.command.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.command.setMinimumSize(620, 110)
        self.message = InlineMessage()
        self.copy_button = QPushButton("Copy launch command")
        self.write_button = QPushButton("Write launch.sh and Slurm script")
        self.write_button.setToolTip("Writes launch.sh and slurm.sbatch into the run folder")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ActionRole)
        buttons.addButton(self.write_button, QDialogButtonBox.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(QLabel("Command"))
        layout.addWidget(self.command, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.nodes.valueChanged.connect(self._refresh)
        self.gpus.valueChanged.connect(self._refresh)
        self.copy_button.clicked.connect(self.copy)
        self.write_button.clicked.connect(self.write)
        self._refresh()

    def _refresh(self) -> None:
        self.command.setPlainText(command_for(self.run_dir, self.nodes.value(), self.gpus.value()))
        self.message.clear()

    def _prepare(self) -> dict | None:
        from ift_desktop.core.training.launch import write_cluster_files

        try:
            return write_cluster_files(self.run_dir, nodes=self.nodes.value(), gpus_per_node=self.gpus.value())
        except (UserError, OSError) as exc:
            self.message.show_error(
                exc.one_line() if isinstance(exc, UserError) else f"Could not write into {self.run_dir}: {exc}"
            )
            return None

    def copy(self) -> bool:
        """Copy the command (writing the run file and accelerate config it names first)."""
        if self._prepare() is None:
            return False
        QGuiApplication.clipboard().setText(self.command.toPlainText())
        self.message.show_success("Copied. Run it in a terminal where ift-desktop is installed.")
        return True

    def write(self) -> dict | None:
        written = self._prepare()
        if written is not None:
            self.message.show_success(f"Wrote {written['launch'].name} and {written['slurm'].name} in {self.run_dir}.")
        return written
