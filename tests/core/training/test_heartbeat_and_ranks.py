"""The files a run in another process is watched and steered through, the rank-0 gate, and the
launcher's one-line account of a failed rank. No model is loaded."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from ift_desktop.core.training.callbacks import TrainingControl
from ift_desktop.core.training.heartbeat import (
    ControlFileWatcher,
    RunStatusFile,
    read_control,
    read_run_status,
    write_control,
)
from ift_desktop.core.training.rank_sync import RankSyncedControl, control_for_this_process
from ift_desktop.core.training.ranks import (
    MainRunFolder,
    SilentRunFolder,
    is_main_process,
    run_folder_for_this_process,
)
from ift_desktop.core.training.run_folder import RunFolder
from ift_desktop.core.training.supervisor import failure_message

TORCHRUN_FAILURE = """\
ift_desktop FAILED
Failures:
[1]:
  rank      : 0 (local_rank: 0)
  exitcode  : -15 (pid: 13516)  (SIGTERM)
  traceback : Signal 15 (SIGTERM) received by PID 13516
Root Cause (first observed failure):
[0]:
  rank      : 1 (local_rank: 1)
  exitcode  : -9 (pid: 13517)  (SIGKILL)
  traceback : Signal 9 (SIGKILL) received by PID 13517
"""


def test_status_file_beats_and_reports_events(tmp_path):
    status = RunStatusFile(tmp_path, processes=2, interval_s=0.05).start()
    status.on_event({"type": "status", "status": "started", "message": "Training"})
    status.on_event({"type": "log", "step": 3, "max_steps": 10, "eta_s": 7.0})
    first = json.loads((tmp_path / "status.json").read_text())["heartbeat"]
    time.sleep(0.3)
    seen = read_run_status(tmp_path)
    assert seen.state == "live" and seen.status == "running" and (seen.step, seen.max_steps) == (3, 10)
    assert seen.processes == 2 and json.loads((tmp_path / "status.json").read_text())["heartbeat"] > first
    status.on_event({"type": "status", "status": "finished", "message": "done"})
    status.close()
    assert read_run_status(tmp_path).state == "ended"


def test_a_run_whose_heartbeat_stopped_is_interrupted(tmp_path):
    RunStatusFile(tmp_path).update(status="running", host="another-machine")  # only the heartbeat tells
    assert read_run_status(tmp_path).state == "live"
    assert read_run_status(tmp_path, now=time.time() + 3600).state == "interrupted"
    RunStatusFile(tmp_path).update(status="starting")  # on this host the live pid answers, beat or not
    assert read_run_status(tmp_path, now=time.time() + 3600).state == "live"
    assert read_run_status(tmp_path / "nothing").state == "absent"


def test_a_dead_process_on_this_host_is_interrupted_at_once(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    RunStatusFile(tmp_path).update(status="running", pid=child.pid)
    assert read_run_status(tmp_path).state == "interrupted"


def test_control_file_steers_a_training_control(tmp_path):
    control = TrainingControl()
    seen = []
    watcher = ControlFileWatcher(tmp_path, control, on_change=seen.append)
    assert read_control(tmp_path) == "run"
    write_control(tmp_path, "pause")
    watcher.poll()
    assert control.is_paused()
    write_control(tmp_path, "run")
    watcher.poll()
    assert not control.is_paused()
    write_control(tmp_path, "stop")
    watcher.poll()
    assert control.stop_requested() and seen == ["pause", "run", "stop"]
    with pytest.raises(ValueError):
        write_control(tmp_path, "explode")


def test_only_rank_zero_writes_the_run_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert not is_main_process()
    silent = run_folder_for_this_process(tmp_path / "run")
    assert isinstance(silent, SilentRunFolder)
    silent.write_record({"status": "running"})
    silent.append_metrics({"step": 1})
    silent.append_probe({"step": 1})
    silent.update_record(status="finished")
    assert not (tmp_path / "run").exists()

    monkeypatch.setenv("RANK", "0")
    main = run_folder_for_this_process(tmp_path / "run")
    assert isinstance(main, MainRunFolder)
    main.path.mkdir()
    main.write_record({"status": "running"})
    assert json.loads(main.record_path.read_text())["launch"]["processes"] == 2

    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    assert type(run_folder_for_this_process(tmp_path / "other")) is RunFolder and is_main_process()


def test_one_process_keeps_its_own_control_and_ranks_agree_on_rank_zeros(monkeypatch):
    local = TrainingControl()
    control, callbacks = control_for_this_process(local)
    assert control is local and callbacks == []
    monkeypatch.setenv("WORLD_SIZE", "2")
    control, callbacks = control_for_this_process(local)
    assert isinstance(control, RankSyncedControl) and len(callbacks) == 1
    control.request_pause()
    assert not control.is_paused()  # not agreed yet: the ranks learn it together at the next step end
    control.sync()  # without a process group it mirrors the local requests
    assert control.is_paused()
    control.request_stop()
    assert control.wait_while_paused(0.01) and control.stop_requested()


def test_the_launcher_names_the_rank_that_died_and_where_to_go_on(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints" / "checkpoint-12").mkdir(parents=True)
    (run / "checkpoints" / "checkpoint-12" / "trainer_state.json").write_text("{}")
    message = failure_message(TORCHRUN_FAILURE.splitlines(), 1, 2, run)
    assert message == "Rank 1 of 2 was killed (SIGKILL), so the launcher ended the run; continue it from checkpoint-12."
    fresh = failure_message(["  exitcode  : 3 (pid: 1)"], 1, 2, tmp_path / "empty")
    assert "exited with code 3" in fresh and "start it again" in fresh
