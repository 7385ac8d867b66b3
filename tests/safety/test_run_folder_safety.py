"""Run folders keep their promises: one training per folder, dead runs shown as interrupted and startable
again, resume that never trains past its length nor rewrites a saved run's record when it fails, a full
disk that still ends in a truthful record, and one-line errors."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ift_desktop.cli import main
from ift_desktop.core.errors import TrainingError
from ift_desktop.core.models import ModelSpec
from ift_desktop.core.training import TrainConfig, run_training
from ift_desktop.core.training.run_folder import RunFolder
from ift_desktop.core.training.run_lock import RunLock, is_being_trained
from ift_desktop.core.workspace.runs import summarize_run

TINY_DATA = dict(n=12, val=2, test=2)
pytestmark = pytest.mark.usefixtures("one_thread")

REPO = Path(__file__).resolve().parents[2]
FAST = dict(batch_size=4, learning_rate=5e-3, eval_steps=0, save_steps=2, logging_steps=1, warmup_ratio=0.0)


def _train_args(llama, data, run, *extra):
    return [
        "train",
        "--data",
        str(data),
        "--model",
        str(llama),
        "--batch-size",
        "4",
        "--lr",
        "0.005",
        "--max-length",
        "128",
        "--out",
        str(run),
        *map(str, extra),
    ]


def _error_line(err: str) -> str:
    assert "Traceback" not in err and "[failed]" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    return errors[0]


HOLDER = textwrap.dedent(
    """
    import sys, time
    from ift_desktop.core.training.run_lock import RunLock
    with RunLock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
    """
)


# ------------------------------------------------------------------------------------ 5: the lock
def test_a_second_training_into_a_held_folder_is_refused(tmp_path, llama, data, capsys):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(run)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(_train_args(llama, data, run, "--max-steps", 1)) == 2
        assert "being trained by another process" in _error_line(capsys.readouterr().err)
        with pytest.raises(TrainingError, match="being trained by another process"):  # what the Train page calls
            run_training(
                TrainConfig(max_steps=1, **FAST), data_dir=data, model=ModelSpec.parse(str(llama)), out_dir=run
            )
        assert not (run / "metrics.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()
    assert main(_train_args(llama, data, run, "--max-steps", 1)) == 0  # the lock died with its process


def test_a_training_holds_its_folder_while_it_runs(tmp_path, llama, data):
    from transformers import TrainerCallback

    run = tmp_path / "run"
    seen = []

    class Probe(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            seen.append(is_being_trained(run))
            with pytest.raises(TrainingError, match="another process"):
                RunLock(run).acquire()
            seen.append(summarize_run(run).status)

    run_training(
        TrainConfig(max_steps=1, **FAST),
        data_dir=data,
        model=ModelSpec.parse(str(llama)),
        out_dir=run,
        callbacks=[Probe()],
    )
    assert seen == [True, "running"]
    assert not is_being_trained(run) and summarize_run(run).status == "finished"


# ---------------------------------------------------------------- 6: dead runs, killed before a checkpoint
def test_a_run_killed_before_its_first_checkpoint_is_interrupted_and_starts_again(tmp_path, llama, data, capsys):
    run = tmp_path / "run"
    args = _train_args(llama, data, run, "--max-steps", 500, "--save-steps", 1000)
    child = subprocess.Popen(
        [sys.executable, "-m", "ift_desktop", *args],
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (run / "metrics.jsonl").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert json.loads((run / "run.json").read_text())["status"] == "running"
    assert RunFolder(run).last_checkpoint() is None
    assert summarize_run(run).status == "interrupted"  # the Runs page

    from ift_desktop.core.workspace.recovery import recover_leftovers

    workspace = tmp_path / "ws"
    (workspace / "runs").mkdir(parents=True)
    moved = workspace / "runs" / "run"
    os.replace(run, moved)
    recover_leftovers(workspace)  # what opening the workspace does
    assert json.loads((moved / "run.json").read_text())["status"] == "interrupted"

    capsys.readouterr()
    assert main(_train_args(llama, data, moved, "--max-steps", 2, "--resume")) == 2
    line = _error_line(capsys.readouterr().err)
    assert "no checkpoint" in line and "without --resume" in line
    assert main(_train_args(llama, data, moved, "--max-steps", 2)) == 0
    out, err = capsys.readouterr()
    assert "starting it again from the beginning" in err
    assert json.loads(out.strip().splitlines()[-1])["status"] == "finished"
    assert [json.loads(line)["step"] for line in (moved / "metrics.jsonl").read_text().splitlines()] == [1, 2]


# ------------------------------------------------------------------------- 7: resume keeps its promises
@pytest.fixture
def finished(tmp_path, llama, data, capsys):
    run = tmp_path / "run"
    assert main(_train_args(llama, data, run, "--max-steps", 2, "--save-steps", 2)) == 0
    capsys.readouterr()
    return run


def test_resuming_a_finished_run_never_trains_past_its_steps(finished, llama, data, capsys):
    before = (finished / "run.json").read_bytes(), (finished / "metrics.jsonl").read_bytes()
    assert main(_train_args(llama, data, finished, "--max-steps", 2, "--save-steps", 2, "--resume")) == 2
    assert "already trained 2 of 2 steps" in _error_line(capsys.readouterr().err)
    assert ((finished / "run.json").read_bytes(), (finished / "metrics.jsonl").read_bytes()) == before


def test_a_failed_resume_leaves_the_finished_record_as_it_was(finished, llama, data):
    from transformers import TrainerCallback

    class Breaks(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            raise RuntimeError("the machine hiccuped")

    before = json.loads((finished / "run.json").read_text())
    metrics = (finished / "metrics.jsonl").read_bytes()
    with pytest.raises(RuntimeError):
        run_training(
            TrainConfig(max_steps=4, **FAST),
            data_dir=data,
            model=ModelSpec.parse(str(llama)),
            out_dir=finished,
            resume=True,
            callbacks=[Breaks()],
        )
    after = json.loads((finished / "run.json").read_text())
    assert after == before and after["status"] == "finished" and after["max_steps"] == 2
    assert (finished / "metrics.jsonl").read_bytes() == metrics


# ------------------------------------------------------------------------------------- 9: small ones
def test_a_full_disk_during_a_checkpoint_ends_in_a_failed_record(tmp_path, llama, data, monkeypatch, capsys):
    """Fault injection: the checkpoint save fills the disk; run.json can be written only once the unfinished
    checkpoint is gone (as on a really full disk)."""
    from transformers import Trainer

    from ift_desktop.core.training import run_folder

    run = tmp_path / "run"
    partial = run / "checkpoints" / "checkpoint-2"

    def full_disk_save(self, *args, **kwargs):
        partial.mkdir(parents=True, exist_ok=True)
        (partial / "optimizer.pt").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    real_write = run_folder.atomic_write_json

    def write_unless_full(path, obj, **kwargs):
        if partial.exists():
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, obj, **kwargs)

    monkeypatch.setattr(Trainer, "_save_checkpoint", full_disk_save)
    monkeypatch.setattr(run_folder, "atomic_write_json", write_unless_full)
    assert main(_train_args(llama, data, run, "--max-steps", 3, "--save-steps", 2)) == 2
    line = _error_line(capsys.readouterr().err)
    assert "disk" in line and "full" in line and "unexpected" not in line
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "failed" and "full" in record["error"]
    assert summarize_run(run).status == "failed"


def test_an_unwritable_run_folder_is_one_clear_line(tmp_path, llama, data, monkeypatch, capsys):
    blocked = tmp_path / "read-only"
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if blocked in (self, *self.parents):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    assert main(_train_args(llama, data, blocked / "run", "--max-steps", 1)) == 2
    line = _error_line(capsys.readouterr().err)
    assert "Cannot write" in line and "unexpected" not in line


def _long_prompt_dataset(folder: Path, n_long: int, n_short: int) -> Path:
    from ift_desktop.core.data.dataset_files import write_dataset

    rows = [{"prompt": "Summarize: " + "words " * 40, "completion": "short", "task": "summarization"}] * n_long
    rows += [{"prompt": "Sum: a b", "completion": "a b", "task": "summarization"}] * n_short
    return write_dataset(
        folder, {"train": rows, "validation": rows[:1], "test": rows[:1]}, {"source": "test", "task": "summarization"}
    )


def test_examples_whose_prompt_fills_the_max_length_are_reported(tmp_path, llama, capsys):
    data = _long_prompt_dataset(tmp_path / "data", n_long=5, n_short=3)
    assert (
        main(
            [
                "train",
                "--data",
                str(data),
                "--model",
                str(llama),
                "--max-length",
                "64",
                "--batch-size",
                "2",
                "--max-steps",
                "1",
                "--out",
                str(tmp_path / "run"),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "warning: 5 of 8 training examples are left out" in err and "Raise the max length" in err

    nothing = _long_prompt_dataset(tmp_path / "long", n_long=4, n_short=0)
    assert (
        main(
            [
                "train",
                "--data",
                str(nothing),
                "--model",
                str(llama),
                "--max-length",
                "64",
                "--max-steps",
                "1",
                "--out",
                str(tmp_path / "run2"),
            ]
        )
        == 2
    )
    assert "nothing is left to learn" in _error_line(capsys.readouterr().err)


def test_the_train_page_shows_the_dropped_examples(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from ift_desktop.core.workspace import Workspace
    from ift_desktop.ui.context import AppContext
    from ift_desktop.ui.pages.train.page import TrainPage

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    page = TrainPage(AppContext(workspace=Workspace(tmp_path / "ws"), settings=settings))
    qtbot.addWidget(page)
    page._on_event({"type": "warning", "message": "5 of 8 training examples are left out: their prompt alone ..."})
    assert "5 of 8 training examples are left out" in page.message.text()
