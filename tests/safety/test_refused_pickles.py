"""Pickled files (model weights, a LoRA adapter, a checkpoint's optimizer) are refused with one plain line
that never suggests turning the protection off, and a refused adapter is not blamed on its base model."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import pytest
import torch
from tiny_models import make_tiny_dataset, make_tiny_llama

from ift_desktop import cli
from ift_desktop.core.models import ModelSpec


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _hostile_pickle(path, marker) -> None:
    with open(path, "wb") as handle:
        pickle.dump({"weights": _Payload(marker)}, handle)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("pickles")
    return {
        "root": root,
        "llama": make_tiny_llama(root / "llama"),
        "data": make_tiny_dataset(root / "data", n=8, val=1, test=2),
    }


def _cli(capsys, monkeypatch, *argv):
    monkeypatch.setattr(cli, "COMMANDS", {argv[0]: cli.COMMANDS[argv[0]]})
    capsys.readouterr()
    code = cli.main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _one_refusal(code, err, marker):
    assert not marker.exists()
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert "pickled Python objects" in errors[0]
    assert "weights_only" not in err and "does not fit" not in err and "unexpected" not in err
    return errors[0]


def test_pickled_model_weights(tiny, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "model"
    shutil.copytree(tiny["llama"], folder)
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    marker = tmp_path / "MARKER"
    _hostile_pickle(folder / "pytorch_model.bin", marker)
    code, err = _cli(
        capsys, monkeypatch, "evaluate", "--model", folder, "--data", tiny["data"], "--out", tmp_path / "e.json"
    )
    assert "The model weights" in _one_refusal(code, err, marker)


def test_pickled_adapter(tiny, tmp_path, capsys, monkeypatch):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    run = tmp_path / "run"
    lora = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny["llama"]), LoraConfig(r=2, target_modules=["q_proj"])
    )
    lora.save_pretrained(run / "adapter")
    (run / "adapter" / "adapter_model.safetensors").unlink()
    marker = tmp_path / "MARKER"
    _hostile_pickle(run / "adapter" / "adapter_model.bin", marker)
    (run / "run.json").write_text(
        json.dumps(
            {"model": ModelSpec.parse(str(tiny["llama"])).to_dict(), "status": "finished", "config": {"method": "lora"}}
        )
    )
    code, err = _cli(
        capsys, monkeypatch, "evaluate", "--run", run, "--data", tiny["data"], "--out", tmp_path / "e.json"
    )
    assert "The LoRA adapter" in _one_refusal(code, err, marker)


def test_pickled_optimizer_in_a_checkpoint(tiny, tmp_path, capsys, monkeypatch):
    torch.set_num_threads(1)
    run = tmp_path / "run"
    args = [
        "train",
        "--data",
        tiny["data"],
        "--model",
        tiny["llama"],
        "--batch-size",
        "4",
        "--save-steps",
        "2",
        "--out",
        run,
    ]
    assert _cli(capsys, monkeypatch, *args, "--max-steps", "2")[0] == 0
    marker = tmp_path / "MARKER"
    checkpoint = run / "checkpoints" / "checkpoint-2"
    _hostile_pickle(checkpoint / "optimizer.pt", marker)
    code, err = _cli(capsys, monkeypatch, *args, "--max-steps", "4", "--resume")
    assert "checkpoint" in _one_refusal(code, err, marker).lower()
    assert json.loads((run / "run.json").read_text())["status"] == "finished"  # the saved run is kept as it was
