"""Model specs, loading (local folder, stand-in Hub, built-in), formatting, device and memory."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from ift_desktop.core.errors import ModelError
from ift_desktop.core.models import (
    ModelSpec,
    builtin_gguf_path,
    default_lora_targets,
    describe_device,
    estimate_memory,
    format_for_model,
    load_model,
    load_model_config,
    load_tokenizer,
    loading,
)
from ift_desktop.core.progress import TaskState

TINY_LLAMA_CHAT = True


# ------------------------------------------------------------------------------------- parsing
def test_parse_builtin_hub_and_folder(tmp_path, llama):
    assert ModelSpec.parse("builtin").source == "builtin"
    assert ModelSpec.parse(" Builtin ").source == "builtin"
    hub = ModelSpec.parse("google/flan-t5-small", revision="main")
    assert (hub.source, hub.name_or_path, hub.revision) == ("hub", "google/flan-t5-small", "main")
    local = ModelSpec.parse(str(llama))
    assert local.source == "local" and Path(local.name_or_path) == llama.resolve()
    (tmp_path / "run.json").write_text("{}")
    assert ModelSpec.parse(tmp_path).source == "run"
    assert ModelSpec.from_dict(hub.to_dict()) == hub


@pytest.mark.parametrize("text", ["", "/no/such/folder", "./missing-model", "a b c"])
def test_parse_rejects_what_cannot_be_a_model(text):
    with pytest.raises(ModelError):
        ModelSpec.parse(text)


# ------------------------------------------------------------------------------------- loading
def test_load_local_causal_and_seq2seq(llama, t5):
    causal = load_model(ModelSpec.parse(str(llama)), device="cpu")
    assert not causal.is_seq2seq and causal.context_length == 1024
    assert causal.dtype == torch.float32 and causal.device.type == "cpu"
    assert causal.tokenizer.pad_token is not None
    assert not any(p.requires_grad for p in causal.model.parameters())
    seq2seq = load_model(ModelSpec.parse(str(t5)), for_training=True)
    assert seq2seq.is_seq2seq and type(seq2seq.model).__name__ == "T5ForConditionalGeneration"
    assert all(p.requires_grad for p in seq2seq.model.parameters())


def test_empty_and_corrupt_folders_give_clear_errors(tmp_path, llama):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match="is empty"):
        load_model(ModelSpec.parse(str(empty)))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(ModelSpec.parse(str(broken)))
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for item in llama.iterdir():
        (damaged / item.name).write_bytes(item.read_bytes())
    (damaged / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelError, match="Could not load the model weights"):
        load_model(ModelSpec.parse(str(damaged)))


def test_hub_id_downloads_through_snapshot_with_progress(monkeypatch, t5):
    calls = []

    def fake_snapshot(repo_id, revision=None, allow_patterns=None, tqdm_class=None):
        calls.append((repo_id, revision, tuple(allow_patterns)))
        bar = tqdm_class(total=4)
        for _ in range(4):
            bar.update(1)
        return str(t5)

    monkeypatch.setattr(loading, "_snapshot_download", fake_snapshot)
    seen = []
    state = TaskState(on_progress=lambda fraction, message: seen.append((fraction, message)))
    loaded = load_model(ModelSpec.parse("someone/tiny-t5", revision="v1"), state=state)
    assert loaded.is_seq2seq
    assert calls[0][:2] == ("someone/tiny-t5", "v1") and "*.safetensors" in calls[0][2]
    assert (1.0, "Downloading someone/tiny-t5") in seen


def test_hub_failure_is_a_model_error(monkeypatch):
    def offline(**kwargs):
        raise OSError("offline")

    monkeypatch.setattr(loading, "_snapshot_download", offline)
    with pytest.raises(ModelError, match="Hugging Face Hub"):
        load_tokenizer(ModelSpec.parse("nobody/nothing"))


def test_builtin_gguf_is_found_without_importing_the_package():
    path = builtin_gguf_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


@pytest.mark.slow
def test_builtin_converts_once_with_progress_then_loads_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("IFT_DESKTOP_CACHE", str(tmp_path / "cache"))
    tokenizer = load_tokenizer(ModelSpec.parse("builtin"))  # tokenizer only: no full conversion
    assert tokenizer.chat_template and not (tmp_path / "cache" / "models" / "smollm2-135m-instruct").exists()
    seen = []
    started = time.monotonic()
    first = load_model(ModelSpec.parse("builtin"), state=TaskState(lambda f, m: seen.append((f, m))))
    first_s = time.monotonic() - started
    assert any("Converting" in message for _, message in seen)
    assert len({f for f, _ in seen if f is not None}) > 10  # per-tensor progress, not one jump
    started = time.monotonic()
    second = load_model(ModelSpec.parse("builtin"))
    second_s = time.monotonic() - started
    assert second_s < first_s / 3, (first_s, second_s)
    assert (tmp_path / "cache" / "models" / "smollm2-135m-instruct" / "model.safetensors").is_file()
    for a, b in zip(first.model.parameters(), second.model.parameters()):
        assert torch.equal(a, b)
    assert second.tokenizer.chat_template and second.context_length == 8192


def test_conversion_lock_waits_for_another_process_then_goes_on(tmp_path):
    import fcntl

    from ift_desktop.core.models.builtin import _file_lock

    lock = tmp_path / "x.lock"
    holder = open(lock, "a+")
    fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
    seen = []
    started = time.monotonic()
    with _file_lock(lock, TaskState(lambda f, m: seen.append(m)), max_wait_s=0.6):
        waited = time.monotonic() - started
    holder.close()
    assert 0.6 <= waited < 3 and any("Waiting for another program" in m for m in seen)
    started = time.monotonic()
    with _file_lock(lock, None, max_wait_s=5):
        assert time.monotonic() - started < 1  # free now: taken at once


# ---------------------------------------------------------------------------------- formatting
def test_chat_template_formatting(llama):
    tokenizer = load_tokenizer(ModelSpec.parse(str(llama)))
    text = format_for_model("Sum: hi", "ok", tokenizer)
    assert text.chat_template
    assert text.prompt_text == "<|user|>Sum: hi</s><|assistant|>"
    assert text.completion_text == "ok</s>"
    assert text.completion_ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(text.prompt_ids + text.completion_ids) == text.prompt_text + text.completion_text
    plain = format_for_model("Sum: hi", "ok", tokenizer, use_chat_template=False)
    assert not plain.chat_template and plain.prompt_text == "Sum: hi"
    assert tokenizer.decode(plain.completion_ids) == "ok</s>"
    prompt_only = format_for_model("Sum: hi", "", tokenizer)
    assert prompt_only.prompt_ids == text.prompt_ids and prompt_only.completion_ids == []


def test_seq2seq_formatting_and_chat_refusal(t5):
    tokenizer = load_tokenizer(ModelSpec.parse(str(t5)))
    text = format_for_model("translate: hi", "salut", tokenizer, is_seq2seq=True)
    assert text.prompt_ids[-1] == tokenizer.eos_token_id
    assert text.completion_ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(text.completion_ids, skip_special_tokens=True) == "salut"
    with pytest.raises(ModelError):
        format_for_model("a", "b", tokenizer, use_chat_template=True)


# ------------------------------------------------------------------------------ device, memory
def test_describe_device_reports_memory():
    info = describe_device("cpu")
    assert info.kind == "cpu" and info.name
    assert info.total_memory_bytes and info.available_memory_bytes <= info.total_memory_bytes


def test_memory_estimate_lora_is_cheaper_and_scales_with_batch(llama):
    config = load_model_config(ModelSpec.parse(str(llama)))
    full = estimate_memory(config, method="full", batch_size=4, max_length=128)
    lora = estimate_memory(config, method="lora", batch_size=4, max_length=128, lora_r=8)
    assert lora.trainable_params < full.trainable_params == full.total_params
    assert lora.optimizer_bytes < full.optimizer_bytes
    # 2 layers x 7 projections: q,k,v,o (32x32), gate/up (32->64), down (64->32), each r*(in+out)
    assert lora.trainable_params == 2 * 8 * (4 * 64 + 3 * 96)
    bigger = estimate_memory(config, method="lora", batch_size=8, max_length=128, lora_r=8)
    assert bigger.activations_bytes == 2 * lora.activations_bytes
    assert full.total_bytes == sum(
        [full.runtime_bytes, full.weights_bytes, full.gradients_bytes, full.optimizer_bytes, full.activations_bytes]
    )
    assert default_lora_targets(config) == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert json.dumps(lora.to_dict())


def test_memory_estimate_formula_parts(llama):
    """The parts of the estimate follow the loop: fp32 activations on the CPU, runtime only in a process's RSS,
    activations linear in the positions, the head only at completion positions, dropout copies."""
    from ift_desktop.core.models.memory import CPU_RUNTIME_BYTES

    config = load_model_config(ModelSpec.parse(str(llama)))
    h, kv, i, layers, vocab = 32, 32, 64, 2, 384
    cpu = estimate_memory(config, method="lora", batch_size=2, max_length=64, completion_share=0.5)
    tokens = 2 * 64
    per_layer = tokens * (7 * h + 2 * kv + 4 * i) * 4
    assert cpu.activations_bytes == layers * per_layer + int(tokens * 0.5 * vocab * 4 * 3)
    assert cpu.runtime_bytes == CPU_RUNTIME_BYTES
    assert cpu.weights_bytes == (cpu.total_params - cpu.trainable_params) * 4 + cpu.trainable_params * 4
    gpu = estimate_memory(
        config,
        method="lora",
        batch_size=2,
        max_length=64,
        completion_share=0.5,
        dtype=torch.bfloat16,
        device_kind="cuda",
    )
    assert gpu.runtime_bytes == 0 and gpu.weights_bytes < cpu.weights_bytes
    # a CPU computing in bf16 stores LoRA's frozen base in bf16 (the adapters stay fp32), its activations in fp32
    cpu_bf16 = estimate_memory(
        config, method="lora", batch_size=2, max_length=64, completion_share=0.5, dtype=torch.bfloat16
    )
    assert cpu_bf16.weights_bytes == (cpu.total_params - cpu.trainable_params) * 2 + cpu.trainable_params * 4
    assert cpu_bf16.activations_bytes == cpu.activations_bytes
    full_bf16 = estimate_memory(config, method="full", batch_size=2, max_length=64, dtype=torch.bfloat16)
    assert full_bf16.weights_bytes == full_bf16.total_params * 4  # fp32 master weights
    dropout = estimate_memory(
        config, method="lora", batch_size=2, max_length=64, completion_share=0.5, lora_dropout=0.1
    )
    assert dropout.activations_bytes > cpu.activations_bytes
    checkpointed = estimate_memory(
        config, method="lora", batch_size=2, max_length=64, completion_share=0.5, gradient_checkpointing=True
    )
    assert checkpointed.activations_bytes < cpu.activations_bytes
