"""The speed levers of the training loop keep the loss semantics: completion-only head, bf16 autocast."""

from __future__ import annotations

import pytest
import torch
from tiny_models import make_tiny_dataset, make_tiny_t5, tiny_examples
from transformers import TrainerCallback

from ift_desktop.core.models import ModelSpec, load_model
from ift_desktop.core.models import device as device_module
from ift_desktop.core.models.device import training_precision
from ift_desktop.core.training import TrainConfig, run_training
from ift_desktop.core.training.data import CompletionOnlyCollator, encode_example
from ift_desktop.core.training.head_loss import completion_loss, supports_completion_head

TINY_LLAMA_CHAT = True
TINY_DATA = dict(n=8, val=2, test=2)
pytestmark = pytest.mark.usefixtures("one_thread")


def _batch(tokenizer, n=4, max_length=1000):  # long enough that the rows differ in length (padding)
    features = [
        encode_example(row, tokenizer, is_seq2seq=False, max_length=max_length, use_chat_template=None)[0]
        for row in tiny_examples(n)
    ]
    return CompletionOnlyCollator(tokenizer.pad_token_id)(features)


def _gradients(model):
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("lora", [False, True])
def test_completion_only_head_gives_the_full_head_loss_and_gradients(llama, lora):
    loaded = load_model(ModelSpec.parse(str(llama)), for_training=True, dtype=torch.float32)
    model = loaded.model
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(
            model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"])
        )
    model.train()
    batch = _batch(loaded.tokenizer)
    assert (batch["labels"] == -100).any() and (batch["labels"] != -100).any()

    full = model(**batch).loss
    full.backward()
    full_grads = _gradients(model)
    model.zero_grad()
    ours = completion_loss(model, batch)
    ours.backward()
    ours_grads = _gradients(model)

    assert supports_completion_head(model)
    assert ours.item() == pytest.approx(full.item(), rel=1e-5)
    assert full_grads.keys() == ours_grads.keys() and full_grads
    for name, grad in full_grads.items():
        torch.testing.assert_close(ours_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)
    # the Trainer's convention: a sum over the accumulated batch's completion tokens
    n = int((batch["labels"][:, 1:] != -100).sum())
    assert completion_loss(model, batch, num_items_in_batch=2 * n).item() == pytest.approx(full.item() / 2, rel=1e-5)


def test_seq2seq_models_keep_their_own_loss(tmp_path):
    loaded = load_model(ModelSpec.parse(str(make_tiny_t5(tmp_path / "t5"))), for_training=True)
    assert not supports_completion_head(loaded.model)


@pytest.mark.parametrize(
    "flags, precision, expected, autocast",
    [
        ({"avx512_bf16"}, "auto", torch.bfloat16, True),
        ({"amx_bf16", "avx512f"}, "auto", torch.bfloat16, True),
        ({"avx2", "avx512f"}, "auto", torch.float32, False),  # AVX-512 without BF16 only emulates it
        (set(), "auto", torch.float32, False),
        ({"avx512_bf16"}, "fp32", torch.float32, False),
        (set(), "bf16", torch.bfloat16, True),
    ],
)
def test_cpu_precision_follows_the_cpu(monkeypatch, flags, precision, expected, autocast):
    monkeypatch.setattr(device_module, "_cpu_flags", lambda: set(flags))
    chosen = training_precision(torch.device("cpu"), precision)
    assert (chosen.dtype, chosen.autocast) == (expected, autocast)
    assert chosen.reason.startswith(chosen.name)


class _AutocastSeen(TrainerCallback):
    """Records whether the model's forward passes ran under CPU bf16 autocast, and its weights' dtypes."""

    def __init__(self):
        self.seen: list[bool] = []
        self.lengths: set[int] = set()  # the sequence lengths of the training passes
        self.trained_dtypes: set[torch.dtype] = set()
        self.frozen_dtypes: set[torch.dtype] = set()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        def hook(module, inputs):
            if module.training:  # the training passes (the probes generate in eval mode, as they always did)
                self.seen.append(torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16)
                self.lengths.add(inputs[0].shape[1])

        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        base.model.layers[0].register_forward_pre_hook(hook)
        for parameter in model.parameters():
            (self.trained_dtypes if parameter.requires_grad else self.frozen_dtypes).add(parameter.dtype)


@pytest.mark.parametrize("native", [True, False])
def test_training_autocasts_when_and_only_when_the_cpu_has_native_bf16(tmp_path, monkeypatch, llama, data, native):
    monkeypatch.setattr(device_module, "_cpu_flags", lambda: {"avx512_bf16"} if native else {"avx2"})
    seen = _AutocastSeen()
    events: list[dict] = []
    config = TrainConfig(max_steps=2, batch_size=4, eval_steps=0, save_steps=0, device="cpu", probe_prompts=["Hi"])
    run_training(
        config,
        data_dir=data,
        model=ModelSpec.parse(str(llama)),
        out_dir=tmp_path / "run",
        on_event=events.append,
        callbacks=[seen],
    )
    assert seen.seen and set(seen.seen) == {native}
    started = next(e for e in events if e.get("status") == "started")
    assert started["precision"] == ("bf16" if native else "fp32") and started["precision_reason"]
    # LoRA's frozen base is stored in the arithmetic's precision; the adapters (trained) stay fp32
    assert seen.trained_dtypes == {torch.float32}
    assert seen.frozen_dtypes == {torch.bfloat16 if native else torch.float32}
    # bf16 on a CPU: every batch padded to a multiple of 32 tokens (oneDNN meets few lengths); fp32: not padded
    assert all(length % 32 == 0 for length in seen.lengths) == native
    assert [e for e in events if e["type"] == "probe"]  # the probe answers are generated with that base too


def test_full_fine_tuning_keeps_fp32_master_weights_under_bf16(tmp_path, monkeypatch, llama, data):
    monkeypatch.setattr(device_module, "_cpu_flags", lambda: {"avx512_bf16"})
    seen = _AutocastSeen()
    config = TrainConfig(method="full", max_steps=1, batch_size=4, eval_steps=0, save_steps=0, device="cpu")
    run_training(config, data_dir=data, model=ModelSpec.parse(str(llama)), out_dir=tmp_path / "run", callbacks=[seen])
    assert seen.seen and set(seen.seen) == {True}
    assert seen.trained_dtypes == {torch.float32} and not seen.frozen_dtypes


def test_max_length_comes_from_the_manifest_else_from_the_data(tmp_path, llama):
    import json

    from ift_desktop.core.models import load_tokenizer
    from ift_desktop.core.training.data import dataset_max_length

    tokenizer = load_tokenizer(ModelSpec.parse(str(llama)))
    folder = make_tiny_dataset(tmp_path / "data", n=40, val=2, test=2)
    length, why = dataset_max_length(folder, tokenizer, is_seq2seq=False, use_chat_template=None)
    rows = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    from ift_desktop.core.models import format_for_model

    totals = sorted(
        len(format_for_model(r["prompt"], r["completion"], tokenizer).prompt_ids)
        + len(format_for_model(r["prompt"], r["completion"], tokenizer).completion_ids)
        for r in rows
    )
    assert length % 32 == 0 and sum(t <= length for t in totals) >= 0.99 * len(totals)
    assert length - 32 < totals[-1]  # the smallest such multiple
    assert "99%" in why

    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "max_length": 200}))
    assert dataset_max_length(folder, tokenizer, is_seq2seq=False, use_chat_template=None)[0] == 200


def test_a_run_without_max_length_uses_the_datasets_and_records_it(tmp_path, llama, data):
    config = TrainConfig(max_steps=1, batch_size=2, eval_steps=0, save_steps=0)
    assert config.max_length is None
    events: list[dict] = []
    run_training(
        config, data_dir=data, model=ModelSpec.parse(str(llama)), out_dir=tmp_path / "run", on_event=events.append
    )
    from ift_desktop.core.training import RunFolder

    recorded = RunFolder(tmp_path / "run").read_record()["config"]["max_length"]
    assert isinstance(recorded, int) and recorded >= 32
    assert any(e.get("status") == "tokenizing" and f"Max length {recorded}" in e.get("message", "") for e in events)


def test_eta_is_the_mean_pace_of_the_session_with_pauses_left_out(monkeypatch):
    from ift_desktop.core.training import callbacks
    from ift_desktop.core.training.callbacks import EventCallback, TrainingControl

    now = [100.0]
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: now[0])

    class State:
        global_step = 0
        max_steps = 10
        epoch = 0.0

    class Control:
        should_training_stop = should_save = should_evaluate = False

    bridge = EventCallback(
        emit=lambda e: None, control=TrainingControl(), tokens_seen=lambda: 0, on_metrics=lambda r: None
    )
    state, control = State(), Control()
    bridge.on_train_begin(None, state, control)
    for step, seconds in enumerate([4.0, 1.0, 1.0, 2.0], start=1):  # uneven steps (grouped lengths)
        bridge.on_step_begin(None, state, control)
        now[0] += seconds
        bridge.on_step_end(None, state, control)
        state.global_step = step
    now[0] += 2.0  # a validation after step 4 counts: it recurs
    bridge.validation_s = 2.0  # its eval_runtime, as on_log adds it up
    assert bridge.eta_s(4) == pytest.approx(6 * 10.0 / 4)
    assert bridge.elapsed_s == pytest.approx(10.0)

    class Tokens:  # the 6 steps to come hold a third of the tokens per step of the 4 so far
        def scale(self, step):
            return 1 / 3

    bridge.epoch_tokens = Tokens()
    assert bridge.eta_s(4) == pytest.approx(6 * (8.0 / 3 + 2.0) / 4)  # the validation's time is not scaled
    bridge.planned_seconds_left = lambda: 42.0  # a time limit's plan, the end's validation counted, comes first
    assert bridge.eta_s(4) == 42.0


def test_right_padded_batches_drop_the_mask_and_keep_the_loss(llama):
    """Without the padding mask the real tokens' hidden states are the same (causal attention never looks
    ahead to the padding on the right), so the loss is too; a left-padded batch keeps its mask."""
    from ift_desktop.core.training.head_loss import is_right_padded

    loaded = load_model(ModelSpec.parse(str(llama)), for_training=True, dtype=torch.float32)
    model = loaded.model.eval()
    batch = _batch(loaded.tokenizer, max_length=1000)
    assert is_right_padded(batch["attention_mask"]) and (batch["attention_mask"] == 0).any()
    with torch.no_grad():
        assert completion_loss(model, batch).item() == pytest.approx(model(**batch).loss.item(), rel=1e-5)
    left = batch["attention_mask"].flip(1)
    assert not is_right_padded(left)


def test_padding_to_a_multiple_keeps_the_loss_and_stops_at_the_max_length(llama):
    """A bf16 CPU run pads each batch to a multiple of 32 (loop.length_multiple): the padding is on the right
    with labels -100, so the completion loss and its gradients are those of the unpadded batch."""
    from ift_desktop.core.training.loop import length_multiple

    assert length_multiple(torch.device("cpu"), torch.bfloat16) == 32
    assert length_multiple(torch.device("cpu"), torch.float32) is None
    assert length_multiple(torch.device("cuda"), torch.bfloat16) is None
    loaded = load_model(ModelSpec.parse(str(llama)), for_training=True, dtype=torch.float32)
    features = [
        encode_example(row, loaded.tokenizer, is_seq2seq=False, max_length=1000, use_chat_template=None)[0]
        for row in tiny_examples(2)
    ]
    plain = CompletionOnlyCollator(loaded.tokenizer.pad_token_id)(features)
    padded = CompletionOnlyCollator(loaded.tokenizer.pad_token_id, 32, 1000)(features)
    length = plain["input_ids"].shape[1]
    assert length % 32 and padded["input_ids"].shape[1] == -(-length // 32) * 32
    assert padded["labels"].shape == padded["input_ids"].shape
    assert (padded["labels"][:, length:] == -100).all() and (padded["attention_mask"][:, length:] == 0).all()
    model = loaded.model.train()
    losses, grads = [], []
    for batch in (plain, padded):
        model.zero_grad()
        loss = completion_loss(model, batch)
        loss.backward()
        losses.append(loss.item())
        grads.append(_gradients(model))
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, rtol=1e-4, atol=1e-6, msg=name)
    # never past the run's max length for rows within it; a multiple that would pass it stops there
    capped = CompletionOnlyCollator(loaded.tokenizer.pad_token_id, 32, length + 1)(features)
    assert capped["input_ids"].shape[1] == length + 1
