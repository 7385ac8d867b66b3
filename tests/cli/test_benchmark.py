"""`ift-desktop benchmark mmlu`: the result file, the base-vs-run comparison, and bad input."""

from __future__ import annotations

import csv
import json

import pytest
from tiny_models import make_tiny_llama

from ift_desktop import cli
from ift_desktop.core.models import ModelSpec


@pytest.fixture(autouse=True)
def only_benchmark(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", {"benchmark": cli.COMMANDS["benchmark"]})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, shared_data):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("cli-mmlu")
    base = make_tiny_llama(root / "llama")
    mmlu = root / "mmlu"
    mmlu.mkdir()
    for subject in ("global_facts", "nutrition"):
        for part, n in (("dev", 5), ("test", 3)):
            source = shared_data / "mmlu" / f"{subject}_{part}.csv"
            rows = list(csv.reader(open(source, encoding="utf-8", newline="")))[:n]
            with open(mmlu / source.name, "w", encoding="utf-8", newline="") as handle:
                csv.writer(handle).writerows(rows)
    run = root / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"model": ModelSpec.parse(str(base)).to_dict(), "status": "finished"}))
    lora = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base),
        LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    lora.save_pretrained(run / "adapter")
    return {"base": base, "mmlu": mmlu, "run": run, "root": root}


def _run(capsys, *argv):
    try:
        code = cli.main(["benchmark", "mmlu", *argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_mmlu_for_one_model(tiny, tmp_path, capsys):
    out = tmp_path / "mmlu.json"
    code, stdout, err = _run(
        capsys, "--data", str(tiny["mmlu"]), "--model", str(tiny["base"]), "--shots", "1", "--out", str(out)
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["benchmark"] == "mmlu" and result["shots"] == 1 and result["n"] == 6
    assert set(result["subjects"]) == {"global_facts", "nutrition"}
    assert result["accuracy"] == result["correct"] / 6 and result["run"] is None
    assert "accuracy" in stdout


def test_mmlu_run_against_its_base(tiny, tmp_path, capsys):
    out = tmp_path / "mmlu.json"
    code, stdout, err = _run(
        capsys,
        "--data",
        str(tiny["mmlu"]),
        "--model",
        str(tiny["base"]),
        "--run",
        str(tiny["run"]),
        "--shots",
        "0",
        "--subjects",
        "nutrition",
        "--limit",
        "2",
        "--out",
        str(out),
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["run"] == str(tiny["run"]) and result["n"] == 2 and result["base"]["n"] == 2
    comparison = result["comparison"]
    assert comparison["overall"]["delta"] == pytest.approx(result["accuracy"] - result["base"]["accuracy"])
    assert comparison["paired"]["n"] == 2 and "McNemar" in stdout


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--data", "{root}/none", "--model", "{base}"], "does not exist"),
        (["--data", "{mmlu}", "--model", "{base}", "--subjects", "astrology"], "Unknown subject"),
        (["--data", "{mmlu}", "--model", "{base}", "--shots", "7"], "use 0 to 5"),
        (["--data", "{mmlu}", "--model", "{base}", "--run", "{base}"], "not a training run"),
        (["--data", "{mmlu}", "--model", "{root}/missing-model"], "does not exist"),
        (["--data", "{mmlu}"], "Give --model"),
    ],
)
def test_bad_input_exits_2_with_one_line(tiny, tmp_path, capsys, argv, expected):
    argv = [a.format(root=tiny["root"], base=tiny["base"], mmlu=tiny["mmlu"]) for a in argv]
    out = tmp_path / "mmlu.json"
    code, _, err = _run(capsys, *argv, "--out", str(out))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], err
    assert not out.exists()
