"""The Runs page's "Launch command…": the command it copies and the scripts it writes name the
run file, the accelerate config and the node / GPU counts."""

from __future__ import annotations

import json
import shlex

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from tiny_models import make_tiny_dataset

from ift_desktop.core.training.config import TrainConfig
from ift_desktop.core.workspace import Workspace
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.runs import RunsPage


@pytest.fixture
def context(tmp_path):
    workspace = Workspace(tmp_path / "workspace")
    make_tiny_dataset(workspace.datasets_dir / "tiny", n=8, val=2, test=2)
    return AppContext(workspace=workspace, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))


def test_launch_command_and_slurm_script_from_a_run_trained_in_the_app(qtbot, context):
    run = context.workspace.runs_dir / "in-app"
    run.mkdir(parents=True)
    record = {"status": "finished", "config": TrainConfig(batch_size=4, grad_accum=4).to_dict(),
              "model": {"source": "hub", "name_or_path": "org/model", "trust_remote_code": True},
              "data": {"dir": str(context.workspace.datasets_dir / "tiny")}}  # fmt: skip
    (run / "run.json").write_text(json.dumps(record))
    page = RunsPage(context)
    qtbot.addWidget(page)
    page.resize(1024, 700)
    page.show()
    page.table.selectRow(0)
    dialog = page.open_launch_dialog()
    qtbot.addWidget(dialog)
    dialog.gpus.setValue(4)

    assert dialog.copy()
    copied = shlex.split(QGuiApplication.clipboard().text())
    assert copied[:2] == ["accelerate", "launch"] and copied[copied.index("--num_processes") + 1] == "4"
    assert copied[copied.index("--config") + 1] == str((run / "launch.json").resolve())
    assert copied[copied.index("--config_file") + 1] == str((run / "accelerate.yaml").resolve())
    launch = json.loads((run / "launch.json").read_text())
    assert "trust_remote_code" not in json.dumps(launch)  # consent is never carried by the file
    assert launch["config"]["batch_size"] * launch["config"]["grad_accum"] == 16

    dialog.nodes.setValue(2)
    assert "torchrun --nnodes 2 --nproc_per_node 4" in dialog.command.toPlainText()
    written = dialog.write()
    script = written["slurm"].read_text()
    assert "#SBATCH --nodes=2" in script and "#SBATCH --gpus-per-node=4" in script and "--num_processes 8" in script
    assert dialog.message.kind == "success"

    dialog.gpus.setValue(3)  # 16 examples cannot be shared by 6 processes: said inline, nothing written
    assert dialog.write() is None and "cannot be shared evenly by 6 processes" in dialog.message.text()
    dialog.grab().save("/tmp/i9-launch-dialog.png")
    page.grab().save("/tmp/i9-runs-page.png")
