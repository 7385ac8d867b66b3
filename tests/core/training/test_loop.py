"""run_training on tiny Llama and T5 models: the same code path, events, run folder, control."""

from __future__ import annotations

import json
import threading
import time

import pytest
import torch
from transformers import TrainerCallback

from ift_desktop.core.errors import TrainingError
from ift_desktop.core.models import ModelSpec, load_model
from ift_desktop.core.training import RunFolder, TrainConfig, TrainingControl, run_training

TINY_LLAMA_CHAT = True
TINY_DATA = dict(n=16, val=4, test=2)
pytestmark = pytest.mark.usefixtures("one_thread")

FAST = dict(batch_size=4, learning_rate=5e-3, eval_steps=2, save_steps=2, logging_steps=1, warmup_ratio=0.0)


def _train_llama(config, llama, data, out_dir, **options):
    """run_training of the module's tiny Llama on its dataset, into ``out_dir``."""
    return run_training(config, data_dir=data, model=ModelSpec.parse(str(llama)), out_dir=out_dir, **options)


def _logits(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids]), labels=torch.tensor([ids])).logits


def test_lora_on_tiny_llama_writes_the_run_folder(tmp_path, llama, data):
    events = []
    config = TrainConfig(max_steps=4, probe_prompts=["Summarize:\nAnn: tea?\nBob: Yes.\nSummary:"], **FAST)
    result = _train_llama(config, llama, data, tmp_path / "run", on_event=events.append)

    assert result.status == "finished" and result.global_step == 4 and result.max_steps == 4
    run = RunFolder(tmp_path / "run")
    rows = run.read_metrics()
    assert [row["step"] for row in rows] == [1, 2, 3, 4]
    for row in rows:
        assert {"step", "epoch", "loss", "learning_rate", "grad_norm", "elapsed_s", "tokens_per_s"} <= set(row)
        assert row["loss"] > 0 and row["tokens_per_s"] > 0
    assert [("eval_loss" in row) for row in rows] == [False, True, False, True]
    assert rows[-1]["elapsed_s"] >= rows[0]["elapsed_s"]

    record = json.loads(run.record_path.read_text())
    assert record["status"] == "finished" and record["chat_template"] is True
    assert record["config"]["method"] == "lora" and record["config"]["schema_version"] == 1
    assert record["trainable_params"] < record["total_params"] and record["versions"]["transformers"]
    assert (run.adapter_dir / "adapter_config.json").is_file() and run.last_checkpoint().name == "checkpoint-4"

    kinds = [event["type"] for event in events]
    assert kinds[0] == "status" and events[-1]["status"] == "finished"
    logs = [event for event in events if event["type"] == "log"]
    assert all(event["max_steps"] == 4 and event["eta_s"] is not None for event in logs)
    probes = [event for event in events if event["type"] == "probe"]
    assert [event["step"] for event in probes] == [0, 2, 4] and len(run.read_probes()) == 3
    assert probes[0]["answers"][0]["prompt"].startswith("Summarize")

    # The run loads as base + adapter, and the adapter changed what the model computes.
    base = load_model(ModelSpec.parse(str(llama)))
    tuned = load_model(ModelSpec.parse(str(tmp_path / "run")))
    ids = list(range(40, 60))
    assert not torch.allclose(_logits(base.model, ids), _logits(tuned.model, ids))


def test_full_fine_tuning_of_tiny_t5_changes_the_weights(tmp_path, t5, data):
    config = TrainConfig(method="full", max_steps=3, **{**FAST, "learning_rate": 1e-3})
    result = run_training(config, data_dir=data, model=ModelSpec.parse(str(t5)), out_dir=tmp_path / "run")
    losses = [row["loss"] for row in result.metrics]
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
    assert (result.artifact_dir / "config.json").is_file() and result.artifact_dir.name == "model"
    before = load_model(ModelSpec.parse(str(t5))).model.state_dict()
    after = load_model(ModelSpec.parse(str(tmp_path / "run")))
    assert after.is_seq2seq
    changed = [name for name, value in after.model.state_dict().items() if not torch.equal(value, before[name])]
    assert len(changed) > len(before) // 2


def test_lora_on_tiny_t5_uses_t5_targets(tmp_path, t5, data):
    result = run_training(
        TrainConfig(max_steps=2, **FAST), data_dir=data, model=ModelSpec.parse(str(t5)), out_dir=tmp_path / "run"
    )
    record = RunFolder(result.run_dir).read_record()
    assert set(record["lora_target_modules"]) >= {"q", "v"} and record["chat_template"] is False
    assert result.final_eval_loss is not None


def test_stop_within_a_step_keeps_a_checkpoint_and_the_adapter(tmp_path, llama, data):
    control = TrainingControl()

    def on_event(event):
        if event["type"] == "log" and event["step"] == 2:
            control.request_stop()

    config = TrainConfig(max_steps=20, **{**FAST, "save_steps": 50, "eval_steps": 50})
    result = _train_llama(config, llama, data, tmp_path / "run", on_event=on_event, control=control)
    assert result.status == "stopped" and result.global_step <= 3
    assert result.checkpoint is not None and result.checkpoint.name == f"checkpoint-{result.global_step}"
    assert (result.artifact_dir / "adapter_model.safetensors").is_file()
    assert RunFolder(result.run_dir).read_record()["status"] == "stopped"


def test_pause_blocks_between_steps_until_resumed(tmp_path, llama, data):
    control = TrainingControl()
    events = []

    def on_event(event):
        events.append((time.monotonic(), event))
        if event["type"] == "log" and event["step"] == 1:
            control.request_pause()
            threading.Timer(0.5, control.request_resume).start()

    config = TrainConfig(max_steps=3, **{**FAST, "save_steps": 0, "eval_steps": 0})
    result = _train_llama(config, llama, data, tmp_path / "run", on_event=on_event, control=control)
    assert result.status == "finished" and result.global_step == 3
    timeline = [(t, e.get("status") or e["type"], e.get("step")) for t, e in events]
    paused = next(i for i, item in enumerate(timeline) if item[1] == "paused")
    resumed = next(i for i, item in enumerate(timeline) if item[1] == "resumed")
    assert resumed == paused + 1  # nothing trained while paused
    assert timeline[resumed][0] - timeline[paused][0] >= 0.4
    # The pause came with step 1's log: it took effect before step 2 began, so "Paused after step 1"
    # agrees with the last logged step.
    assert [step for _, kind, step in timeline[:paused] if kind == "log"] == [1]
    assert [step for _, kind, step in timeline[resumed:] if kind == "log"] == [2, 3]


def test_stop_while_paused_ends_the_run(tmp_path, llama, data):
    control = TrainingControl()
    statuses = []

    def on_event(event):
        if event["type"] == "status":
            statuses.append(event["status"])
        if event["type"] == "log" and event["step"] == 1:
            control.request_pause()
            threading.Timer(0.3, control.request_stop).start()

    config = TrainConfig(max_steps=50, **{**FAST, "save_steps": 0, "eval_steps": 0})
    result = _train_llama(config, llama, data, tmp_path / "run", on_event=on_event, control=control)
    assert result.status == "stopped" and result.global_step == 2
    assert [s for s in statuses if s != "saving"][-3:] == ["paused", "stopping", "stopped"]
    assert result.checkpoint is not None and result.artifact_dir.is_dir()


class _OptimizerProbe(TrainerCallback):
    def __init__(self):
        self.state = None

    def on_train_begin(self, args, state, control, optimizer=None, **kwargs):
        self.state = {
            k: {n: v.clone() for n, v in s.items() if torch.is_tensor(v)}
            for k, s in optimizer.state_dict()["state"].items()
        }


def test_resume_restores_optimizer_state_and_continues_the_curve(tmp_path, llama, data):
    control = TrainingControl()

    def stop_at_two(event):
        if event["type"] == "log" and event["step"] == 2:
            control.request_stop()

    config = TrainConfig(max_steps=5, **{**FAST, "save_steps": 50, "eval_steps": 50})
    first = _train_llama(config, llama, data, tmp_path / "run", on_event=stop_at_two, control=control)
    assert first.status == "stopped"
    saved = torch.load(first.checkpoint / "optimizer.pt", weights_only=False)["state"]

    probe = _OptimizerProbe()
    second = _train_llama(config, llama, data, tmp_path / "run", resume=True, callbacks=[probe])
    assert second.status == "finished" and second.global_step == 5
    assert probe.state and set(probe.state) == set(saved)
    for key, moments in probe.state.items():
        assert torch.equal(moments["exp_avg"], saved[key]["exp_avg"])
        assert torch.count_nonzero(moments["exp_avg_sq"]) > 0
    steps = [row["step"] for row in RunFolder(tmp_path / "run").read_metrics()]
    assert steps == [1, 2, 3, 4, 5]
    record = RunFolder(tmp_path / "run").read_record()
    assert record["resumed"][0]["from"] == first.checkpoint.name and record["status"] == "finished"


def test_nan_loss_stops_with_a_clear_message(tmp_path, llama, data):
    class Poison(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step == 1:
                with torch.no_grad():
                    next(p for p in model.parameters() if p.requires_grad).fill_(float("nan"))

    config = TrainConfig(method="full", max_steps=6, **{**FAST, "learning_rate": 1e-3})
    with pytest.raises(TrainingError, match="NaN or infinite at step 2"):
        _train_llama(config, llama, data, tmp_path / "run", callbacks=[Poison()])
    record = RunFolder(tmp_path / "run").read_record()
    assert record["status"] == "failed" and "learning rate" in record["error"]
    assert all(row["loss"] is None or row["loss"] == row["loss"] for row in RunFolder(tmp_path / "run").read_metrics())


def test_out_of_memory_offers_half_batch_double_accumulation(tmp_path, llama, data, monkeypatch):
    from transformers import Trainer

    def boom(self, *args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Trainer, "train", boom)
    config = TrainConfig(max_steps=2, **{**FAST, "batch_size": 8, "grad_accum": 2})
    with pytest.raises(TrainingError, match="batch size 4 and gradient accumulation 4"):
        _train_llama(config, llama, data, tmp_path / "run")
    assert RunFolder(tmp_path / "run").read_record()["status"] == "failed"


def test_out_of_memory_in_a_forward_raises_the_typed_error_with_a_retry_that_trains(tmp_path, llama, data, monkeypatch):
    from transformers.models.llama.modeling_llama import LlamaModel

    from ift_desktop.core.errors import TrainingOutOfMemory

    def out_of_memory(self, *args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    events = []
    config = TrainConfig(max_steps=2, **{**FAST, "batch_size": 4, "grad_accum": 1})
    with monkeypatch.context() as patch:
        patch.setattr(LlamaModel, "forward", out_of_memory)
        with pytest.raises(TrainingOutOfMemory) as caught:
            _train_llama(config, llama, data, tmp_path / "run", on_event=events.append)
    error = caught.value
    assert error.retry_changes == {"batch_size": 2, "grad_accum": 2}
    assert error.retry_config.effective_batch_size == config.effective_batch_size
    assert events[-1]["status"] == "failed" and events[-1]["retry"] == error.retry_changes  # for a watcher
    assert RunFolder(tmp_path / "run").read_record()["status"] == "failed"
    retried = _train_llama(error.retry_config, llama, data, tmp_path / "retry")
    assert retried.status == "finished" and retried.global_step == 2


def test_existing_run_is_never_overwritten(tmp_path, llama, data):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text('{"status": "finished"}')
    with pytest.raises(TrainingError, match="already holds a run"):
        _train_llama(TrainConfig(max_steps=1), llama, data, out)
    assert json.loads((out / "run.json").read_text()) == {"status": "finished"}
    with pytest.raises(TrainingError, match="no checkpoint"):
        _train_llama(TrainConfig(max_steps=1), llama, data, out, resume=True)


def test_stop_before_training_leaves_no_run_behind(tmp_path, llama, data):
    from ift_desktop.core.errors import Cancelled

    control = TrainingControl()
    control.request_stop()
    statuses = []
    with pytest.raises(Cancelled):
        _train_llama(
            TrainConfig(max_steps=3),
            llama,
            data,
            tmp_path / "run",
            control=control,
            on_event=lambda e: statuses.append(e.get("status")),
        )
    assert statuses[0] == "loading" and statuses[-1] == "stopped" and not (tmp_path / "run").exists()
    assert set(statuses[1:-1]) <= {"tokenizing"}  # nothing started


def test_the_same_seed_gives_the_same_run_twice_in_one_process(tmp_path, llama, data):
    """The LoRA adapter's starting weights are random: they must follow the seed too (a second run in
    the same app session used to start from different weights and log different losses)."""
    config = TrainConfig(max_steps=3, **FAST)
    losses = []
    for name in ("first", "second"):
        torch.manual_seed(1234 if name == "first" else 98765)  # whatever the global RNG holds before
        _train_llama(config, llama, data, tmp_path / name)
        losses.append([row["loss"] for row in RunFolder(tmp_path / name).read_metrics()])
    assert losses[0] == losses[1]
