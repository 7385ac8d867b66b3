"""`ift-desktop evaluate` as the contract says: the JSON file, and exit 2 with one line on bad input."""

from __future__ import annotations

import json

import pytest
from tiny_models import make_tiny_dataset, make_tiny_llama

from ift_desktop import cli
from ift_desktop.core.models import ModelSpec


@pytest.fixture(autouse=True)
def only_evaluate(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", {"evaluate": cli.COMMANDS["evaluate"]})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("cli-eval")
    base = make_tiny_llama(root / "llama", chat_template=True)
    data = make_tiny_dataset(root / "data", n=3, val=1, test=3)
    run = root / "run"
    run.mkdir()
    (run / "run.json").write_text(
        json.dumps({"model": ModelSpec.parse(str(base)).to_dict(), "status": "finished", "config": {"method": "lora"}})
    )
    lora = get_peft_model(AutoModelForCausalLM.from_pretrained(base), LoraConfig(r=2, target_modules=["q_proj"]))
    lora.save_pretrained(run / "adapter")
    failed = root / "failed-run"
    failed.mkdir()
    (failed / "run.json").write_text(json.dumps({"model": ModelSpec.parse(str(base)).to_dict(), "status": "failed"}))
    return {"base": base, "data": data, "run": run, "failed": failed, "root": root}


def _run(capsys, *argv):
    code = cli.main(["evaluate", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("which", ["model", "run"])
def test_writes_the_evaluation_json(tiny, tmp_path, capsys, which):
    out = tmp_path / "eval.json"
    code, stdout, err = _run(
        capsys,
        f"--{which}",
        str(tiny["base" if which == "model" else "run"]),
        "--data",
        str(tiny["data"]),
        "--max-new-tokens",
        "4",
        "--limit",
        "2",
        "--out",
        str(out),
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    assert {"corpus", "examples", "model", "run", "split", "generation", "timings"} <= set(result)
    assert len(result["examples"]) == 2 and result["split"] == "test"
    assert {"prompt", "prediction", "references", "overlap", "rougeL", "bleu"} <= set(result["examples"][0])
    assert result["generation"]["max_new_tokens"] == 4
    assert result["run"] == (str(tiny["run"]) if which == "run" else None)
    assert "ROUGE-L" in stdout and str(out) in stdout


def test_sampling_flags_are_recorded(tiny, tmp_path, capsys):
    out = tmp_path / "eval.json"
    code, _, err = _run(
        capsys,
        "--model",
        str(tiny["base"]),
        "--data",
        str(tiny["data"]),
        "--split",
        "validation",
        "--max-new-tokens",
        "3",
        "--sample",
        "--temperature",
        "0.7",
        "--top-p",
        "0.9",
        "--seed",
        "5",
        "--no-stemmer",
        "--out",
        str(out),
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    gen = result["generation"]
    assert (gen["decoding"], gen["temperature"], gen["top_p"], gen["seed"]) == ("sampling", 0.7, 0.9, 5)
    assert result["split"] == "validation" and result["use_stemmer"] is False


def _bad(tiny, tmp_path):
    data, base = str(tiny["data"]), str(tiny["base"])
    empty = make_tiny_dataset(tmp_path / "empty", n=2, val=1, test=1)
    (empty / "test.jsonl").write_text("")
    return {
        "run without a model": (["--run", str(tiny["failed"]), "--data", data], "no trained model"),
        "model folder as run": (["--run", base, "--data", data], "not a training run"),
        "missing data": (["--model", base, "--data", str(tmp_path / "nope")], "does not exist"),
        "missing split": (["--model", base, "--data", data, "--split", "dev"], "no 'dev' split"),
        "empty split": (["--model", base, "--data", str(empty)], "is empty"),
        "both run and model": (["--model", base, "--run", str(tiny["run"]), "--data", data], "not allowed"),
        "neither": (["--data", data], "required"),
        "bad max-new-tokens": (["--model", base, "--data", data, "--max-new-tokens", "0"], "at least 1"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "run without a model",
        "model folder as run",
        "missing data",
        "missing split",
        "empty split",
        "both run and model",
        "neither",
        "bad max-new-tokens",
    ],
)
def test_bad_input_exits_2_with_one_line(tiny, tmp_path, capsys, case):
    argv, expected = _bad(tiny, tmp_path)[case]
    out = tmp_path / "eval.json"
    try:
        code, stdout, err = _run(capsys, *argv, "--out", str(out))
    except SystemExit as exc:  # argparse errors exit through parser.exit(2, ...)
        code, err = exc.code, capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], err
    assert "Traceback" not in err and not out.exists()
