"""GGUF export of a tiny Llama after a LoRA run: the file answers as the merged model, carries the
chat template and end-of-turn token, and comes with a matching Ollama Modelfile."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import make_tiny_bpe_llama, make_tiny_llama, make_tiny_t5

from ift_desktop.cli import main
from ift_desktop.core.errors import Cancelled, ExportError
from ift_desktop.core.export import gguf_writer
from ift_desktop.core.export.gguf_export import export_gguf
from ift_desktop.core.export.modelfile import render_go_template
from ift_desktop.core.export.roundtrip import read_metadata
from ift_desktop.core.export.support import check_gguf_support
from ift_desktop.core.progress import TaskState

TINY_DATA = dict(n=12, val=4, test=2)
pytestmark = pytest.mark.usefixtures("one_thread")

PROBES = ["Summarize:\nAnn: Shall we do lunch?\nBob: Yes, at 1.\nSummary:", "What is the capital of France?"]


def _train(folder: Path, model: Path, data: Path, *extra: str) -> Path:
    run = folder / "run"
    args = ["train", "--data", str(data), "--model", str(model), "--method", "lora", "--lr", "0.01",
            "--batch-size", "4", "--max-length", "128", "--lora-r", "4", "--max-steps", "3", "--seed", "1",
            "--precision", "fp32",  # the same weights on every CPU: bf16 where native would move the near-ties
            "--out", str(run), *extra]  # fmt: skip
    assert main(args) == 0
    return run


def _pin_probes(run: Path) -> Path:
    """Probe prompts as the Train page's pinned prompts would be; short answers, as a random tiny
    model's next-token choices are often near-ties that any rounding can tip."""
    record = json.loads((run / "run.json").read_text())
    record["config"]["probe_prompts"] = PROBES
    record["config"]["probe_max_new_tokens"] = 16
    (run / "run.json").write_text(json.dumps(record))
    return run


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("bpe-run")
    return _pin_probes(_train(folder, make_tiny_bpe_llama(folder / "model"), data))


def _greedy(model, tokenizer, prompt: str) -> list[int]:
    from ift_desktop.core.models.formatting import format_for_model

    ids = torch.tensor([format_for_model(prompt, "", tokenizer).prompt_ids])
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=20,
        do_sample=False,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return out[0, ids.shape[1] :].tolist()


def test_f16_file_answers_as_the_merged_model_with_template_and_end_of_turn(tmp_path, lora_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ift_desktop.core.workspace.runs import load_merged_model

    out = tmp_path / "export" / "tiny-f16.gguf"
    export = export_gguf(lora_run, out, quant="f16")
    assert out.is_file() and export.size_bytes == out.stat().st_size
    assert sorted(p.name for p in out.parent.iterdir()) == ["Modelfile", "tiny-f16.export.json", "tiny-f16.gguf"]
    assert export.round_trip.all_identical and export.round_trip.total == len(PROBES)
    assert all(export.round_trip.checks.values())

    # independently of the export's own check: transformers reads the file and answers greedily
    # with the same tokens as the merged model
    merged, merged_tokenizer = load_merged_model(lora_run, dtype=torch.float32, device="cpu")
    tokenizer = AutoTokenizer.from_pretrained(str(out.parent), gguf_file=out.name)
    model = AutoModelForCausalLM.from_pretrained(str(out.parent), gguf_file=out.name, dtype=torch.float32)
    for prompt in PROBES:
        assert _greedy(model, tokenizer, prompt) == _greedy(merged, merged_tokenizer, prompt)

    metadata = read_metadata(out)
    assert metadata["chat_template"] == merged_tokenizer.chat_template
    assert metadata["eot"] == "<|im_end|>" == metadata["eos"]
    assert metadata["architecture"] == "llama" and metadata["add_bos"] is False
    assert set(metadata["tensor_types"]) == {"F16", "F32"}

    modelfile = (out.parent / "Modelfile").read_text()
    assert "FROM ./tiny-f16.gguf" in modelfile and 'PARAMETER stop "<|im_end|>"' in modelfile
    template = modelfile.split('TEMPLATE """')[1].split('"""')[0]
    assert template == export.modelfile.template
    chat = [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Bye."}]  # fmt: skip
    assert render_go_template(template, chat) == merged_tokenizer.apply_chat_template(
        chat, tokenize=False, add_generation_prompt=True
    )

    report = json.loads((out.parent / "tiny-f16.export.json").read_text())
    assert report["round_trip"]["identical"] == report["round_trip"]["total"] == len(PROBES)
    assert report["tokenizer"]["end_of_turn"] == "<|im_end|>" and report["size_bytes"] == out.stat().st_size
    assert report["ollama"]["commands"][0].startswith("ollama create tiny-f16 -f ")
    assert report["versions"]["gguf"] and report["timings"]["total_s"] > 0


@pytest.mark.parametrize("family, arch", [("qwen2", "qwen2"), ("mistral", "llama")])
def test_qwen2_and_mistral_round_trip(tmp_path, data, family, arch):
    run = _pin_probes(_train(tmp_path, make_tiny_bpe_llama(tmp_path / "model", family=family), data))
    out = tmp_path / "out" / f"{family}.gguf"
    export = export_gguf(run, out, quant="f16")
    assert export.round_trip.all_identical and read_metadata(out)["architecture"] == arch
    if family == "qwen2":
        import gguf

        names = {t.name for t in gguf.GGUFReader(str(out)).tensors}
        assert {"blk.0.attn_q.bias", "blk.0.attn_k.bias", "blk.0.attn_v.bias"} <= names


def test_run_without_chat_template_exports_a_plain_one(tmp_path, data):
    from ift_desktop.core.export.gguf_vocab import PLAIN_TEMPLATE

    run = _pin_probes(_train(tmp_path, make_tiny_bpe_llama(tmp_path / "model"), data, "--no-chat-template"))
    out = tmp_path / "out" / "plain.gguf"
    export = export_gguf(run, out, quant="f16")
    assert export.round_trip.all_identical
    assert read_metadata(out)["chat_template"] == PLAIN_TEMPLATE
    prompt = [{"role": "user", "content": "Summarize: hi"}]
    assert render_go_template(export.modelfile.template, prompt) == "Summarize: hi"
    assert export.modelfile.stops == ["<|im_end|>"] and export.modelfile.system is None


def test_without_llama_cpps_q_k_order_the_round_trip_catches_it(tmp_path, lora_run, monkeypatch):
    monkeypatch.setattr(gguf_writer, "rotate_for_llama_cpp", lambda weight, heads: weight)
    out = tmp_path / "bad" / "tiny.gguf"
    with pytest.raises(ExportError, match="answered .* differently from the merged model.*conversion fault"):
        export_gguf(lora_run, out, quant="f16")
    assert list(out.parent.iterdir()) == []  # nothing half-written, not even under a temporary name


def test_rotation_is_undone_by_transformers_reader():
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    weight = np.arange(8 * 16 * 3, dtype=np.float32).reshape(8 * 16, 3)
    for heads in (8, 2):
        rotated = gguf_writer.rotate_for_llama_cpp(weight, heads)
        assert not np.array_equal(rotated, weight)
        undone = LlamaTensorProcessor()._reverse_permute_weights(rotated, heads, heads)
        assert np.array_equal(undone, weight)


def test_q8_0_is_reported_side_by_side(tmp_path, lora_run):
    out = tmp_path / "q8" / "tiny-q8_0.gguf"
    export = export_gguf(lora_run, out, quant="q8_0")
    assert "Q8_0" in read_metadata(out)["tensor_types"]
    f16 = export_gguf(lora_run, tmp_path / "f16" / "tiny.gguf", quant="f16")
    assert export.size_bytes < f16.size_bytes
    trip = json.loads((out.parent / "tiny-q8_0.export.json").read_text())["round_trip"]
    assert trip["total"] == len(PROBES) and 0 <= trip["identical"] <= trip["total"]
    assert [row["prompt"] for row in trip["answers"]] == PROBES
    assert all(set(row) >= {"merged", "gguf", "identical"} for row in trip["answers"])


def test_cancel_leaves_nothing(tmp_path, lora_run):
    state = TaskState()
    seen = []

    def cancel_when_writing(fraction, message):
        seen.append(message)
        if "Converting" in message:
            state.cancel()

    state._on_progress = cancel_when_writing
    out = tmp_path / "c" / "tiny.gguf"
    with pytest.raises(Cancelled):
        export_gguf(lora_run, out, quant="f16", state=state)
    assert any("Converting" in m for m in seen) and list(out.parent.iterdir()) == []


def test_t5_run_is_refused_before_loading(tmp_path, data, capsys):
    run = _train(tmp_path, make_tiny_t5(tmp_path / "t5"), data)
    with pytest.raises(ExportError, match="sequence-to-sequence"):
        check_gguf_support(run)
    capsys.readouterr()
    assert main(["export", "--run", str(run), "--format", "gguf", "--out", str(tmp_path / "t5.gguf")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "sequence-to-sequence" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "t5.gguf").exists()


def test_byte_tokenizer_is_refused_with_a_reason(tmp_path, data):
    run = _train(tmp_path, make_tiny_llama(tmp_path / "llama", chat_template=True), data)
    with pytest.raises(ExportError, match="not byte-level BPE"):
        export_gguf(run, tmp_path / "out" / "x.gguf")
    assert not (tmp_path / "out" / "x.gguf").exists()


def test_cli_covers_adapter_merged_and_gguf(tmp_path, lora_run, capsys):
    assert main(["export", "--run", str(lora_run), "--format", "adapter", "--out", str(tmp_path / "a")]) == 0
    assert (tmp_path / "a" / "adapter_config.json").is_file()
    assert main(["export", "--run", str(lora_run), "--format", "merged", "--out", str(tmp_path / "m")]) == 0
    assert (tmp_path / "m" / "model.safetensors").is_file()
    capsys.readouterr()
    assert main(["export", "--run", str(lora_run), "--format", "gguf", "--out", str(tmp_path / "g" / "t.gguf")]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 probe answers identical" in out and "ollama create t -f Modelfile" in out and "ollama run t" in out
    assert main(["export", "--run", str(lora_run), "--format", "gguf", "--out", str(tmp_path / "g.bin")]) == 2
    err = capsys.readouterr().err
    assert "does not end in .gguf" in err and len(err.strip().splitlines()) == 1


def test_f16_difference_names_its_cause():
    from ift_desktop.core.export.gguf_export import _judge
    from ift_desktop.core.export.roundtrip import RoundTripResult

    row = {"prompt": "p", "merged": "a b", "gguf": "a c", "identical": False, "merged_tokens": [1, 2],
           "gguf_tokens": [1, 3]}  # fmt: skip
    result = RoundTripResult([row], 0, 1, {"chat_template_in_file": True}, 1.0)
    with pytest.raises(ExportError, match="token 2: 'a b' vs 'a c'.*16-bit rounding alone"):
        _judge(result, "f16", lambda: True)
    with pytest.raises(ExportError, match="conversion fault"):
        _judge(result, "f16", lambda: False)
    _judge(result, "q8_0", lambda: pytest.fail("q8_0 differences are reported, not judged"))
    result.problems.append("the file's end-of-turn token is '</s>', not '<|im_end|>'")
    with pytest.raises(ExportError, match="end-of-turn token"):
        _judge(result, "q8_0", lambda: True)


def test_report_describes_the_kept_file_its_run_and_its_check(tmp_path, lora_run):
    out = tmp_path / "r" / "tiny-q8.gguf"
    export = export_gguf(lora_run, out, quant="q8_0")
    report = json.loads(export.report_path.read_text())
    assert set(report) == {
        "schema_version",
        "created",
        "run",
        "file",
        "quant",
        "size_bytes",
        "architecture",
        "model_type",
        "tokenizer",
        "modelfile",
        "ollama",
        "round_trip",
        "timings",
        "versions",
    }
    assert (report["file"], report["quant"], report["size_bytes"]) == ("tiny-q8.gguf", "q8_0", out.stat().st_size)
    assert report["run"] == str(lora_run.resolve()) and report["architecture"] == "llama"
    metadata = read_metadata(out)
    assert report["tokenizer"]["chat_template"] == metadata["chat_template"]
    assert report["tokenizer"]["eos"] == report["tokenizer"]["end_of_turn"] == "<|im_end|>"
    assert report["tokenizer"]["run_used_chat_template"] is True and report["tokenizer"]["add_bos"] is False
    assert report["modelfile"]["path"] == "Modelfile" and report["modelfile"]["stops"] == ["<|im_end|>"]
    assert report["ollama"] == {"name": export.ollama_name, "commands": export.ollama_commands}
    assert report["round_trip"] == export.round_trip.to_dict()
    timings = report["timings"]
    assert set(timings) == {"merge_and_reference_s", "write_s", "round_trip_s", "total_s"}
    assert 0 < timings["write_s"] < timings["total_s"] and timings["merge_and_reference_s"] < timings["total_s"]
