"""The Train page and runs in another process: *Where to run*, the run file, following (attaching
to) a run that another process trains, steering it through its control file, closing the window
while it goes, and a dead one shown as interrupted. The "other process" here is the test writing the
files a training process writes (status.json, metrics.jsonl, probes.jsonl); the real process is
tested in tests/cli/test_train_launch.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PySide6.QtCore import QSettings
from tiny_models import make_tiny_dataset

from ift_desktop.core.atomic import append_jsonl
from ift_desktop.core.training.config import TrainConfig
from ift_desktop.core.training.heartbeat import RunStatusFile, read_control
from ift_desktop.core.training.resumable import resumable_runs
from ift_desktop.core.training.run_file import RunFile
from ift_desktop.core.workspace import Workspace
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.train import TrainPage
from ift_desktop.ui.pages.train.attach import AttachedRun


@pytest.fixture
def context(tmp_path):
    workspace = Workspace(tmp_path / "workspace")
    make_tiny_dataset(workspace.datasets_dir / "tiny", n=16, val=4, test=4)
    return AppContext(workspace=workspace, settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))


def _page(qtbot, context):
    widget = TrainPage(context)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    qtbot.waitUntil(lambda: widget.trainer_ready and not widget.setup.cost_pending, timeout=90000)
    return widget


class OtherProcess:
    """Writes a run folder the way a training process in another process does."""

    def __init__(self, context, name="cli-run", pid=None):
        self.run = context.workspace.runs_dir / name
        self.run.mkdir(parents=True)
        config = TrainConfig(max_steps=20, batch_size=4, probe_prompts=["Say hi"])
        record = {"status": "running", "config": config.to_dict(),
                  "model": {"source": "builtin", "name_or_path": "builtin"},
                  "data": {"dir": str(context.workspace.datasets_dir / "tiny")}}  # fmt: skip
        (self.run / "run.json").write_text(json.dumps(record))
        self.status = RunStatusFile(self.run, processes=2)
        self.status.update(status="running", message="Training", pid=pid or os.getpid(), max_steps=20)

    def steps(self, first, last):
        for step in range(first, last + 1):
            row = {"step": step, "epoch": step / 10, "loss": 3.0 - step * 0.1, "learning_rate": 3e-4,
                   "grad_norm": 1.0, "elapsed_s": step * 0.5, "tokens_per_s": 120.0}  # fmt: skip
            if step % 5 == 0:
                row["eval_loss"] = 3.1 - step * 0.1
                append_jsonl(
                    self.run / "probes.jsonl", {"step": step, "answers": [{"prompt": "Say hi", "answer": f"hi {step}"}]}
                )
            append_jsonl(self.run / "metrics.jsonl", row)
        self.status.update(step=last, eta_s=(20 - last) * 0.5)

    def end(self, status="finished"):
        record = json.loads((self.run / "run.json").read_text())
        record.update(status=status, global_step=20, final_loss=1.0, elapsed_s=10.0)
        (self.run / "run.json").write_text(json.dumps(record))
        self.status.update(status=status, message=f"{status.title()} at step 20")


def test_the_page_attaches_to_a_live_run_follows_it_and_steers_it(qtbot, context):
    other = OtherProcess(context)
    other.steps(1, 6)
    page = _page(qtbot, context)  # on start, the page finds the live run and follows it
    qtbot.waitUntil(lambda: isinstance(page.session, AttachedRun), timeout=5000)
    qtbot.waitUntil(lambda: len(page.curves.loss.x) == 6, timeout=5000)
    assert page.curves.eval_loss.x == [5.0]
    assert page.probe_history.history("Say hi") == [(5, "hi 5")]
    assert page.pause_button.isEnabled() and page.stop_button.isEnabled() and not page.start_button.isEnabled()

    other.steps(7, 10)  # live: new steps appear
    qtbot.waitUntil(lambda: len(page.curves.loss.x) == 10, timeout=5000)
    qtbot.waitUntil(lambda: "10 / 20" in page.progress.format(), timeout=5000)

    page.pause_button.click()
    assert read_control(other.run) == "pause" and page.resume_button.isEnabled()
    other.status.update(status="paused", message="Paused after step 10.")
    qtbot.waitUntil(lambda: "Paused" in page.status.text(), timeout=5000)
    page.resume_button.click()
    assert read_control(other.run) == "run"
    page.stop_button.click()
    assert read_control(other.run) == "stop"

    other.steps(11, 12)
    other.end("stopped")
    qtbot.waitUntil(lambda: page.session is None, timeout=5000)
    assert page.after_run.isVisible() and "Stopped" in page.status.text()
    assert page.curves.loss.x[-1] == 12.0
    page.shutdown(1000)


def test_closing_the_window_asks_to_stop_or_keep_a_separate_run(qtbot, context, monkeypatch):
    other = OtherProcess(context)
    other.steps(1, 3)
    page = _page(qtbot, context)
    qtbot.waitUntil(lambda: isinstance(page.session, AttachedRun), timeout=5000)
    monkeypatch.setattr(page, "ask_keep_separate_run", lambda: "cancel")
    assert page.confirm_close() is False and page.session.is_running()
    monkeypatch.setattr(page, "ask_keep_separate_run", lambda: "keep")
    assert page.confirm_close() is True
    assert read_control(other.run) == "run" and not page.session.is_running()  # detached: the run goes on
    page.shutdown(1000)

    again = _page(qtbot, context)  # next start: found again
    qtbot.waitUntil(lambda: isinstance(again.session, AttachedRun), timeout=5000)
    monkeypatch.setattr(again, "ask_keep_separate_run", lambda: "stop")
    assert again.confirm_close() is True and read_control(other.run) == "stop"
    again.shutdown(1000)


def test_a_run_whose_process_died_shows_as_interrupted_and_can_be_continued(qtbot, context):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    other = OtherProcess(context, pid=dead.pid)
    other.steps(1, 4)
    checkpoint = other.run / "checkpoints" / "checkpoint-4"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text("{}")
    page = _page(qtbot, context)
    assert page.session is None  # not live: nothing to attach to
    labels = [label for _path, label in resumable_runs(context.workspace)]
    assert labels == ["cli-run  (interrupted at step 4, lora)"]
    assert page.resume_row.isVisible() and "interrupted" in page.resume_combo.currentText()

    assert page.attach_to_live_run(other.run)  # following it anyway ends at once, saying why
    qtbot.waitUntil(lambda: page.session is None, timeout=5000)
    assert "interrupted" in page.message.text() and page.continue_button.isVisible()
    page.shutdown(1000)


def test_a_separate_run_that_ran_out_of_memory_offers_the_retry_its_status_names(qtbot, context):
    other = OtherProcess(context)
    other.steps(1, 2)
    page = _page(qtbot, context)
    qtbot.waitUntil(lambda: isinstance(page.session, AttachedRun), timeout=5000)
    other.status.on_event({"type": "status", "status": "failed", "retry": {"batch_size": 2, "grad_accum": 2},
                           "message": "The device ran out of memory during training; memory was freed."})  # fmt: skip
    qtbot.waitUntil(lambda: page.session is None, timeout=5000)
    assert page.retry_button.isVisible() and page.retry_button.text() == "Retry with batch 2 × accumulation 2"
    page.shutdown(1000)


def test_where_to_run_shares_the_global_batch_and_the_run_file_round_trips(qtbot, context, tmp_path):
    page = _page(qtbot, context)
    where = page.setup.where
    assert not where.separate() and not where.processes.isEnabled()
    page.setup.form.editors["batch_size"].widget.setValue(4)
    page.setup.form.editors["grad_accum"].widget.setValue(2)
    where.set_choice(2, "ddp")
    assert where.separate() and where.processes.isEnabled()
    assert (
        "Global batch 8 stays as you set it: each of 2 processes takes batch 4 × accumulation 1" in where.split.text()
    )
    where.processes.setValue(3)
    assert "cannot be shared evenly by 3 processes" in where.split.text()
    fsdp = where.strategy.findData("fsdp")
    assert not where.strategy.model().item(fsdp).isEnabled()  # no GPU here

    from ift_desktop.ui.pages.train.run_file_actions import open_run_file, save_run_file

    where.processes.setValue(2)
    path = save_run_file(page, tmp_path / "launch.json")
    saved = RunFile.read(path)
    assert saved.processes == 2 and saved.config.batch_size == 4 and saved.config.grad_accum == 2
    assert "trust_remote_code" not in path.read_text()

    data = json.loads(path.read_text())
    data["config"]["learning_rate"] = 0.001
    data["launch"]["processes"] = 1
    path.write_text(json.dumps(data))
    assert open_run_file(page, path)
    assert page.setup.request()[2].learning_rate == 0.001 and not where.separate()
    page.shutdown(1000)
