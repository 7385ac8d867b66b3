"""LoRA on the last N layers: adapters only there, gradients only there, the estimate keeps only their activations."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from ift_desktop.core.errors import SettingError
from ift_desktop.core.models.memory import auto_lora_layers, estimate_memory, last_layers
from ift_desktop.core.training import TrainConfig
from ift_desktop.core.training.hf_trainer import wrap_lora


def test_the_adapters_sit_on_the_last_layers_only_and_the_lower_ones_build_no_graph(llama):
    model = AutoModelForCausalLM.from_pretrained(llama)
    wrapped, _ = wrap_lora(model, TrainConfig(lora_layers=1), is_seq2seq=False)
    adapted = {name.split(".layers.")[1].split(".")[0] for name, _ in wrapped.named_parameters() if "lora_" in name}
    assert adapted == {"1"}  # the tiny Llama has layers 0 and 1

    kept = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: kept.append(t) or t, lambda t: t):
        wrapped(input_ids=torch.tensor([[1, 2, 3, 4]]), labels=torch.tensor([[1, 2, 3, 4]])).loss.backward()
    assert all(p.grad is None for n, p in wrapped.named_parameters() if ".layers.0." in n)
    everywhere, _ = wrap_lora(AutoModelForCausalLM.from_pretrained(llama), TrainConfig(), is_seq2seq=False)
    kept_everywhere = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: kept_everywhere.append(t) or t, lambda t: t):
        everywhere(input_ids=torch.tensor([[1, 2, 3, 4]]), labels=torch.tensor([[1, 2, 3, 4]])).loss.backward()
    assert len(kept) < len(kept_everywhere)  # layer 0 keeps nothing for a backward pass that stops above it


def test_the_estimate_counts_the_adapters_and_activations_of_the_trained_layers_only(llama):
    config = AutoConfig.from_pretrained(llama)
    every = estimate_memory(config, method="lora", batch_size=4, max_length=256, lora_r=8)
    last = estimate_memory(config, method="lora", batch_size=4, max_length=256, lora_r=8, lora_layers=1)
    assert last.trainable_params * 2 == every.trainable_params
    head = every.activations_bytes - 2 * (every.activations_bytes - last.activations_bytes)  # the head's share
    assert 0 < head < last.activations_bytes < every.activations_bytes
    same = estimate_memory(config, method="lora", batch_size=4, max_length=256, lora_r=8, lora_layers=5)
    assert same == every  # more layers than the model has: every layer
    full = estimate_memory(config, method="full", batch_size=4, max_length=256, lora_layers=1)
    assert full == estimate_memory(config, method="full", batch_size=4, max_length=256)  # LoRA only


def test_last_layers_and_the_setting():
    config = AutoConfig.for_model("llama", num_hidden_layers=30)
    assert last_layers(config, 15) == list(range(15, 30))
    assert last_layers(config, None) is None and last_layers(config, 30) is None
    assert auto_lora_layers(config, "cpu") == 15  # the top half where time is the limit
    assert auto_lora_layers(config, "cuda") == 30  # every layer, recorded as a count (resumable elsewhere)
    with pytest.raises(SettingError, match="LoRA on the last N layers"):
        TrainConfig(lora_layers=0)
