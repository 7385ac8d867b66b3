"""A run from its run file on two CPU processes (accelerate launch, gloo) against the same run in
the app's process; a killed child, and a killed rank.

Tolerance of the loss comparison: both runs see the same examples in each optimizer step (accelerate
hands batch i of the seeded sampler to rank i mod 2, so ranks 0 and 1 together take the examples
the one process takes in one batch of 4), the Trainer weights each rank's loss by the tokens of the
whole global batch, and LoRA dropout is off, so the only difference left is the order of float
additions (a 2-way all-reduce instead of one sum): a relative 1e-4 is generous for fp32 (measured
here: ~1e-7).

These tests start real processes (each loads torch and transformers): minutes on a busy 2-core
machine, hence slow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ift_desktop.core.models import ModelSpec, load_model
from ift_desktop.core.training.config import TrainConfig
from ift_desktop.core.training.heartbeat import read_run_status
from ift_desktop.core.training.run_file import RunFile
from ift_desktop.core.training.run_folder import RunFolder

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds ranks through /proc")]


TINY_DATA = dict(n=32, val=4, test=2)


@pytest.fixture(scope="module")
def setup(llama, data):
    return llama, data


def _run_file(setup, folder: Path, **changes) -> Path:
    model, data = setup
    settings = dict(max_steps=4, batch_size=4, grad_accum=1, lora_r=4, lora_alpha=8, lora_dropout=0.0,
                    learning_rate=1e-2, max_length=64, eval_steps=2, save_steps=2, seed=7,
                    probe_prompts=["Summarize:\nAnn: lunch?\nBob: Yes.\nSummary:"], probe_max_new_tokens=6)  # fmt: skip
    settings.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    return RunFile(TrainConfig(**settings), ModelSpec.parse(str(model)), data).write(folder / "run-file.json")


def _cli(*args, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "ift_desktop", *map(str, args)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)  # fmt: skip


def _rows(run: Path, name: str = "metrics.jsonl") -> list[dict]:
    return [json.loads(line) for line in (run / name).read_text().splitlines()]


def _wait_for(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def _checkpoint_step(run: Path) -> int:
    found = RunFolder(run).checkpoints()  # older ones are deleted as new ones come: look at the newest
    return found[-1][0] if found else 0


def _ranks_of(run: Path) -> dict[int, int]:
    """pid of each rank training into ``run`` (read from /proc: the launcher sets RANK)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if str(run) in cmdline and "ift_desktop" in cmdline:
            for item in environ:
                if item.startswith("RANK="):
                    found[int(item[5:])] = int(entry.name)
    return found


def test_two_cpu_processes_train_the_same_curve_as_the_app_with_one_copy_of_each_file(tmp_path, setup):
    import torch

    from ift_desktop.core.training import run_training

    run_file = RunFile.read(_run_file(setup, tmp_path))
    torch.set_num_threads(1)
    in_app = run_training(run_file.config, data_dir=run_file.data_dir, model=run_file.model, out_dir=tmp_path / "app")

    launched = tmp_path / "launched"
    process = _cli("train", "--config", tmp_path / "run-file.json", "--out", launched, "--processes", 2)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-2000:]
    assert json.loads(out.strip().splitlines()[-1])["status"] == "finished"

    app_rows, launched_rows = in_app.metrics, _rows(launched)
    assert [r["step"] for r in launched_rows] == [1, 2, 3, 4]  # one line per step: only rank 0 wrote
    assert [r["step"] for r in app_rows] == [1, 2, 3, 4]
    for a, b in zip(app_rows, launched_rows):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)
        assert b["learning_rate"] == pytest.approx(a["learning_rate"], rel=1e-6)  # the same schedule
        assert ("eval_loss" in b) == ("eval_loss" in a)
        if "eval_loss" in a:
            assert b["eval_loss"] == pytest.approx(a["eval_loss"], rel=1e-4)
    assert [r["step"] for r in _rows(launched, "probes.jsonl")] == [0, 2, 4]

    record = json.loads((launched / "run.json").read_text())
    assert record["status"] == "finished" and record["launch"]["processes"] == 2
    assert record["launch"]["global_batch"] == 4 and record["config"]["batch_size"] == 2
    assert "distributed_type: MULTI_GPU" in (launched / "accelerate.yaml").read_text()
    assert sorted(p.name for p in (launched / "adapter").iterdir() if p.suffix == ".safetensors") == [
        "adapter_model.safetensors"
    ]
    assert sorted(p.name for p in (launched / "checkpoints").iterdir()) == ["checkpoint-2", "checkpoint-4"]
    assert read_run_status(launched).state == "ended"

    loaded = load_model(ModelSpec.parse(str(launched)))  # the adapter loads and generates
    ids = loaded.tokenizer("Summarize:\nAnn: tea?\nSummary:", return_tensors="pt")
    generated = loaded.model.generate(**ids, max_new_tokens=4, do_sample=False)
    assert generated.shape[1] == ids["input_ids"].shape[1] + 4 or generated[0, -1].item() == 1


def test_a_killed_detached_run_is_interrupted_and_resumes_from_its_checkpoint(tmp_path, setup):
    config = _run_file(setup, tmp_path, max_steps=300, eval_steps=0, save_steps=2, probe_prompts=[])
    run = tmp_path / "run"
    started = _cli("train", "--config", config, "--out", run, "--detach")
    out, err = started.communicate(timeout=120)
    assert started.returncode == 0, err
    pid = json.loads(out)["pid"]
    _wait_for(lambda: _checkpoint_step(run) >= 4, 300, "a checkpoint")
    assert read_run_status(run).state == "live"
    os.kill(pid, signal.SIGKILL)
    _wait_for(lambda: read_run_status(run).state == "interrupted", 30, "the run to show as interrupted")
    assert json.loads((run / "run.json").read_text())["status"] == "running"  # it never wrote its end

    resumed = _cli("train", "--config", run / "launch.json", "--out", run, "--resume")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err[-2000:]
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished" and record["global_step"] == 300
    assert record["resumed"][0]["from"].startswith("checkpoint-")
    steps = [r["step"] for r in _rows(run)]
    assert steps == list(range(1, 301))  # the curve continues: no gap, no doubled step


def test_killing_one_rank_of_two_ends_the_run_with_a_clear_message(tmp_path, setup):
    config = _run_file(setup, tmp_path, max_steps=400, eval_steps=0, save_steps=2, probe_prompts=[])
    run = tmp_path / "run"
    process = _cli("train", "--config", config, "--out", run, "--processes", 2)
    _wait_for(lambda: _checkpoint_step(run) >= 2, 300, "a checkpoint")
    ranks = _ranks_of(run)
    assert sorted(ranks) == [0, 1]
    os.kill(ranks[1], signal.SIGKILL)
    out, err = process.communicate(timeout=120)  # not a hang: the launcher ends the run
    assert process.returncode == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith(
        "error: Rank 1 of 2 was killed (SIGKILL), so the launcher ended the run; continue it from checkpoint-"
    )
    assert "Traceback" not in last
    assert json.loads((run / "run.json").read_text())["status"] == "failed"
    status = read_run_status(run)
    assert status.state == "ended" and status.status == "failed" and "Rank 1 of 2" in status.message
    assert not _ranks_of(run)  # no rank left behind


def test_pause_resume_and_stop_reach_both_ranks_through_the_control_file(tmp_path, setup):
    from ift_desktop.core.training.heartbeat import write_control

    config = _run_file(setup, tmp_path, max_steps=400, eval_steps=0, save_steps=50, probe_prompts=[])
    run = tmp_path / "run"
    process = _cli("train", "--config", config, "--out", run, "--processes", 2)
    _wait_for(lambda: read_run_status(run).step >= 3, 300, "training to start")
    write_control(run, "pause")
    _wait_for(lambda: read_run_status(run).status == "paused", 60, "the pause")
    held = read_run_status(run).step
    time.sleep(3)
    assert read_run_status(run).step == held and process.poll() is None  # held on both ranks, not hung
    write_control(run, "run")
    _wait_for(lambda: read_run_status(run).status == "running", 60, "the resume")
    write_control(run, "stop")
    out, err = process.communicate(timeout=300)  # both ranks stop at the same step: no hang in an all-reduce
    assert process.returncode == 0, err[-2000:]
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "stopped" and record["global_step"] < 400
    assert (run / "adapter" / "adapter_config.json").is_file()
    assert (run / "checkpoints" / f"checkpoint-{record['global_step']}").is_dir()  # stop saves where it stopped
