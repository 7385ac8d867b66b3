"""`ift-desktop export` with the real built-in model: a short LoRA run exports to f16 and q8_0 GGUF."""

from __future__ import annotations

import json

import pytest
from tiny_models import make_tiny_dataset

from ift_desktop.cli import main


@pytest.mark.slow
def test_builtin_lora_run_exports_to_f16_and_q8_0(tmp_path, capsys):
    data = make_tiny_dataset(tmp_path / "data", n=8, val=2, test=2)
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--model", "builtin", "--method", "lora", "--max-steps", "2",
                 "--batch-size", "2", "--max-length", "128", "--probe", "What is the capital of France?",
                 "--out", str(run)]) == 0  # fmt: skip
    record = json.loads((run / "run.json").read_text())
    record["config"]["probe_max_new_tokens"] = 16
    (run / "run.json").write_text(json.dumps(record))
    capsys.readouterr()

    sizes = {}
    for quant in ("f16", "q8_0"):
        out = tmp_path / quant / f"smol-{quant}.gguf"
        assert main(["export", "--run", str(run), "--format", "gguf", "--quant", quant, "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        assert "ollama create" in printed
        report = json.loads((out.parent / f"smol-{quant}.export.json").read_text())
        assert all(report["round_trip"]["checks"].values())
        assert report["tokenizer"]["end_of_turn"] == "<|im_end|>" and report["tokenizer"]["pre"] == "smollm"
        assert report["round_trip"]["total"] == 1 and report["round_trip"]["answers"][0]["gguf"]
        if quant == "f16":  # exact; q8_0 is reported side by side whatever it answers
            assert report["round_trip"]["identical"] == 1 and "1 of 1 probe answers identical" in printed
        sizes[quant] = out.stat().st_size
        modelfile = (out.parent / "Modelfile").read_text()
        assert 'PARAMETER stop "<|im_end|>"' in modelfile and 'SYSTEM """You are a helpful AI assistant' in modelfile
    assert sizes["q8_0"] < 0.6 * sizes["f16"]
