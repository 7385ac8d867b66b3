"""RunFolder is the one reader of run.json and of checkpoint steps: a missing, damaged or older record
reads the way each caller needs (an error for the trainer and the model loader, a row for lists, a
best guess for pickers), and whether a run may go on is decided once for the CLI and the Train page."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ift_desktop.core.errors import ModelError, TrainingError
from ift_desktop.core.models.spec import ModelSpec, read_run_record
from ift_desktop.core.training.heartbeat import read_run_status, shown_status, training_process_state
from ift_desktop.core.training.resumable import ResumeRefused, check_resumable, load_resumable, resumable_runs
from ift_desktop.core.training.run_file import RunFile
from ift_desktop.core.training.run_folder import RunFolder, RunRecordUnreadable
from ift_desktop.core.training.run_lock import CAN_TELL_LIVE_RUNS, RunLock
from ift_desktop.core.training.run_record import (
    recorded_base_model,
    recorded_created,
    recorded_data_dir,
    recorded_method,
    recorded_model_name,
)
from ift_desktop.core.workspace.runs import summarize_run

OLD_RECORD = {  # the first layout: model as a string, method beside the config, data_dir, started_at
    "status": "stopped",
    "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "model_name": "SmolLM2 (old)",
    "method": "full",
    "data_dir": "/data/old",
    "started_at": "2025-01-01T00:00:00+00:00",
}


def _run(tmp_path: Path, record, name: str = "run") -> RunFolder:
    run = RunFolder(tmp_path / name)
    run.path.mkdir(parents=True)
    text = record if isinstance(record, str) else json.dumps(record)
    run.record_path.write_text(text, encoding="utf-8")
    return run


def _checkpoint(run: RunFolder, step: int) -> Path:
    folder = run.checkpoints_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text("{}")
    return folder


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# ------------------------------------------------------------------------------------ reading
def test_a_missing_record_is_told_apart_from_a_damaged_one(tmp_path):
    missing = RunFolder(tmp_path / "nothing")
    with pytest.raises(RunRecordUnreadable) as seen:
        missing.load_record()
    assert seen.value.missing
    assert missing.record_or_none() is None
    with pytest.raises(TrainingError, match="holds no run"):
        missing.read_record()
    with pytest.raises(ModelError, match="is not a training run"):
        read_run_record(missing.path)

    for text, reason in (
        ('{"status": "runn', "unreadable"),
        ("[1, 2]", "not a JSON object"),
        (b"\xff\xfe{", "unreadable"),
    ):
        run = RunFolder(tmp_path / f"damaged-{len(text)}")
        run.path.mkdir()
        run.record_path.write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(RunRecordUnreadable) as seen:
            run.load_record()
        assert not seen.value.missing
        assert run.record_or_none() is None
        with pytest.raises(TrainingError, match=reason):
            run.read_record()
        with pytest.raises(ModelError, match=reason):
            read_run_record(run.path)
        with pytest.raises(TrainingError, match="Run file .*run.json is not (valid JSON|a JSON object|UTF-8)"):
            RunFile.read(run.path)  # the run file of a folder without launch.json: run.json, read the same way


def test_an_old_record_answers_what_pages_ask(tmp_path):
    record = _run(tmp_path, OLD_RECORD).read_record()
    assert recorded_base_model(record) == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert recorded_model_name(record) == "SmolLM2 (old)"
    assert recorded_method(record) == "full"
    assert recorded_data_dir(record) == Path("/data/old")
    assert recorded_created(record) == "2025-01-01T00:00:00+00:00"
    assert recorded_data_dir({"data": {"path": "/data/p"}}) == Path("/data/p")
    assert recorded_data_dir({"data": {"dir": "/new"}, "data_dir": "/old"}) == Path("/new")
    assert recorded_base_model({"model": {"source": "builtin", "name_or_path": "x"}}) == "builtin"
    assert recorded_base_model({"model": ["not", "a", "model"]}) == recorded_base_model({}) == "builtin"
    assert recorded_data_dir({"data": "nowhere"}) is None and recorded_method({"config": "x"}) == "?"


def test_lists_show_a_damaged_or_old_run_instead_of_failing(tmp_path):
    damaged = _run(tmp_path, "{not json", name="damaged")
    summary = summarize_run(damaged.path)
    assert (summary.status, summary.model, summary.method, summary.steps) == ("unknown", "?", "?", 0)

    old = _run(tmp_path, OLD_RECORD, name="old")
    old.metrics_path.write_text('{"step": 2, "loss": 1.5}\n{"step": 4, "loss": 1.25}\n{"step": 5, "lo')
    summary = summarize_run(old.path)
    assert (summary.status, summary.model, summary.method, summary.steps) == ("stopped", "SmolLM2 (old)", "full", 4)
    assert summary.created == "2025-01-01T00:00:00+00:00" and summary.curve == [(2, 1.5), (4, 1.25)]


def test_checkpoint_steps_are_read_from_the_folder_name(tmp_path):
    run = _run(tmp_path, {"status": "stopped"})
    for step in (5, 40, 12):
        _checkpoint(run, step)
    (run.checkpoints_dir / "checkpoint-99").mkdir()  # unfinished: no trainer_state.json
    (run.checkpoints_dir / "tmp-checkpoint-50").mkdir()
    assert [step for step, _path in run.checkpoints()] == [5, 12, 40]
    assert RunFolder.checkpoint_step(run.last_checkpoint()) == 40
    with pytest.raises(ValueError):
        RunFolder.checkpoint_step(run.checkpoints_dir / "tmp-checkpoint-50")


# -------------------------------------------------------------------------- shown status, once
@pytest.mark.skipif(not CAN_TELL_LIVE_RUNS, reason="no run lock on this system")
def test_one_decision_says_whether_a_running_record_was_interrupted(tmp_path):
    run = _run(tmp_path, {"status": "running"})
    assert shown_status("running", run.path) == "interrupted"  # no lock, no status file
    assert shown_status("stopped", run.path) == "stopped"
    with RunLock(run.path):
        assert shown_status("running", run.path) == "running"
        assert training_process_state(run.path, {"pid": _dead_pid(), "host": socket.gethostname()}) == "live"
    assert run.shown_status() == "interrupted" and summarize_run(run.path).status == "interrupted"

    status = {"status": "running", "pid": os.getpid(), "host": socket.gethostname(), "heartbeat": time.time()}
    (run.path / "status.json").write_text(json.dumps(status))
    assert shown_status("running", run.path) == "running" and read_run_status(run.path).state == "live"
    status["pid"] = _dead_pid()
    (run.path / "status.json").write_text(json.dumps(status))
    assert shown_status("running", run.path) == "interrupted" and read_run_status(run.path).state == "interrupted"
    status.update(host="another-machine", pid=1)  # another host: the heartbeat's age tells, for both
    (run.path / "status.json").write_text(json.dumps(status))
    assert shown_status("running", run.path) == "running" and read_run_status(run.path).state == "live"
    status["heartbeat"] = time.time() - 3600
    (run.path / "status.json").write_text(json.dumps(status))
    assert shown_status("running", run.path) == "interrupted" and read_run_status(run.path).state == "interrupted"
    (run.path / "status.json").write_text('{"status": "runn')  # half-written: the lock alone tells
    assert shown_status("running", run.path) == "interrupted" and read_run_status(run.path).state == "live"
    assert run.mark_if_interrupted() and run.read_record()["status"] == "interrupted"


# --------------------------------------------------------------------------- resume, decided once
def _dataset(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text('{"prompt": "a", "completion": "b"}\n')
    return data


def test_resume_is_refused_for_the_reasons_cli_and_page_share(tmp_path):
    with pytest.raises(ResumeRefused, match="holds no run to resume") as seen:
        check_resumable(tmp_path / "nothing")
    assert seen.value.reason == "no-run"
    unstarted = _run(tmp_path, {"status": "failed"}, name="unstarted")
    with pytest.raises(ResumeRefused, match="ended before its first one") as seen:
        check_resumable(unstarted.path)
    assert seen.value.reason == "unstarted"
    saved = _run(tmp_path, {"status": "finished", "artifact": "adapter"}, name="saved")
    saved.adapter_dir.mkdir()
    with pytest.raises(ResumeRefused, match="no checkpoint to continue from") as seen:
        check_resumable(saved.path)
    assert seen.value.reason == "no-checkpoint"
    if CAN_TELL_LIVE_RUNS:
        busy = _run(tmp_path, {"status": "running"}, name="busy")
        _checkpoint(busy, 3)
        lock = subprocess.Popen(
            [sys.executable, "-c", "import sys,time; from ift_desktop.core.training.run_lock import RunLock; "
             "held = RunLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)", str(busy.path)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert lock.stdout.readline().strip() == "held"
            with pytest.raises(ResumeRefused, match="still training in another process") as seen:
                check_resumable(busy.path)
            assert seen.value.reason == "live"
            assert check_resumable(busy.path, need_checkpoint=False)[2].name == "checkpoint-3"  # following it is fine
        finally:
            lock.kill()
            lock.wait()
        assert check_resumable(busy.path)[2].name == "checkpoint-3"


def test_an_old_run_with_a_checkpoint_loads_for_the_page(tmp_path):
    data = _dataset(tmp_path)
    run = _run(tmp_path, {**OLD_RECORD, "model": "builtin", "data_dir": str(data), "config": {"method": "lora"}})
    _checkpoint(run, 4)
    run.metrics_path.write_text('{"step": 2, "loss": 2.0}\n{"step": 6, "loss": 1.0}\n')
    resumable = load_resumable(run.path)
    assert resumable.model == ModelSpec.parse("builtin") and resumable.data_dir == data
    assert resumable.last_step == 4 and [row["step"] for row in resumable.history] == [2]
    gone = _run(
        tmp_path, {"status": "stopped", "model": "builtin", "data": {"dir": str(tmp_path / "gone")}}, name="gone"
    )
    _checkpoint(gone, 1)
    with pytest.raises(TrainingError, match="is gone"):
        load_resumable(gone.path)


@dataclass
class _Item:
    name: str
    path: Path
    summary: dict | None


class _Workspace:
    def __init__(self, runs: list[RunFolder]):
        self.runs = runs

    def list_runs(self):
        return [_Item(run.path.name, run.path, run.record_or_none()) for run in self.runs]


def test_the_page_lists_the_runs_that_can_go_on(tmp_path):
    stopped = _run(tmp_path, {"status": "stopped", "config": {"method": "lora"}}, name="stopped")
    _checkpoint(stopped, 7)
    old = _run(tmp_path, OLD_RECORD, name="old")
    _checkpoint(old, 2)
    finished = _run(tmp_path, {"status": "finished"}, name="finished")
    _checkpoint(finished, 9)
    no_checkpoint = _run(tmp_path, {"status": "failed"}, name="no-checkpoint")
    damaged = _run(tmp_path, "{", name="damaged")
    _checkpoint(damaged, 1)
    labels = [label for _path, label in resumable_runs(_Workspace([stopped, old, finished, no_checkpoint, damaged]))]
    assert labels == ["stopped  (stopped at step 7, lora)", "old  (stopped at step 2, full)"]
