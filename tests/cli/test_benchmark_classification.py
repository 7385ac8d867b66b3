"""`ift-desktop benchmark classification`: the result file, the run comparison, and bad input."""

from __future__ import annotations

import json

import pytest
from tiny_models import make_tiny_llama

from ift_desktop import cli
from ift_desktop.core.evaluation.classification import read_labelled, run_classification
from ift_desktop.core.models import ModelSpec, load_model


@pytest.fixture(autouse=True)
def only_benchmark(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", {"benchmark": cli.COMMANDS["benchmark"]})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, shared_data):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("cli-cls")
    base = make_tiny_llama(root / "llama")
    sst2 = root / "sst2.tsv"  # the first 12 rows of the shared SST-2 dev file
    sst2.write_text("".join((shared_data / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines(True)[:13]))
    run = root / "run"
    run.mkdir()
    record = {
        "model": ModelSpec.parse(str(base)).to_dict(),
        "status": "finished",
        "config": {"use_chat_template": False},
    }
    (run / "run.json").write_text(json.dumps(record))
    lora = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base),
        LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    lora.save_pretrained(run / "adapter")
    return {"base": base, "sst2": sst2, "run": run, "root": root}


def _run(capsys, *argv):
    try:
        code = cli.main(["benchmark", "classification", *argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


SST2 = ["--text-column", "sentence", "--label-column", "label", "--labels", "negative,positive"]


def test_sst2_rows_with_one_model(tiny, tmp_path, capsys):
    out = tmp_path / "cls.json"
    code, stdout, err = _run(
        capsys, "--data", str(tiny["sst2"]), *SST2, "--model", str(tiny["base"]), "--limit", "10", "--out", str(out)
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    assert (
        result["benchmark"] == "classification" and result["n"] == 10 and result["labels"] == ["negative", "positive"]
    )
    rows = read_labelled(str(tiny["sst2"]), "sentence", "label", labels=["negative", "positive"], limit=10)
    direct = run_classification(load_model(ModelSpec.parse(str(tiny["base"]))), rows)
    assert [e["predicted"] for e in result["examples"]] == [e["predicted"] for e in direct["examples"]]
    assert sum(map(sum, result["confusion"]["matrix"])) == 10
    low, high = result["ci95"]
    assert f"accuracy {result['accuracy']:.3f} [{low:.3f}, {high:.3f}] 95% CI" in stdout
    assert "true \\ predicted" in stdout


def test_run_against_its_base(tiny, tmp_path, capsys):
    out = tmp_path / "cls.json"
    code, stdout, err = _run(
        capsys,
        "--data",
        str(tiny["sst2"]),
        *SST2,
        "--model",
        str(tiny["base"]),
        "--run",
        str(tiny["run"]),
        "--shots",
        "2",
        "--out",
        str(out),
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["run"] == str(tiny["run"]) and result["n"] == 10 and result["base"]["n"] == 10
    comparison = result["comparison"]
    assert comparison["overall"]["delta"] == pytest.approx(result["accuracy"] - result["base"]["accuracy"])
    assert comparison["paired"]["n"] == 10 and "McNemar" in stdout and not result["chat_template"]


@pytest.mark.parametrize(
    "content, argv, expected",
    [
        (None, ["--text-column", "text", "--label-column", "label", "--labels", "negative,positive"], "Column 'text'"),
        (None, ["--text-column", "sentence", "--label-column", "label"], "are numbers"),
        ("sentence\tlabel\ngood\t1\nfine\t1\n", SST2, "one label only"),
        ("", SST2, "is empty"),
        ("sentence\tlabel\n", SST2, "has no rows"),
        (None, SST2 + ["--template", "summarize-dialogue"], "pick a classification template"),
        (None, SST2 + ["--shots", "40"], "use 0 (zero-shot) to 32"),
    ],
)
def test_bad_input_exits_2_with_one_line(tiny, tmp_path, capsys, content, argv, expected):
    data = tiny["sst2"]
    if content is not None:
        data = tmp_path / "bad.tsv"
        data.write_text(content)
    out = tmp_path / "cls.json"
    code, _, err = _run(capsys, "--data", str(data), *argv, "--model", str(tiny["base"]), "--out", str(out))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], err
    assert not out.exists()


def test_missing_file_exits_2(tiny, tmp_path, capsys):
    code, _, err = _run(
        capsys,
        "--data",
        str(tmp_path / "none.tsv"),
        *SST2,
        "--model",
        str(tiny["base"]),
        "--out",
        str(tmp_path / "x.json"),
    )
    assert code == 2 and "File not found" in err and len(err.strip().splitlines()) == 1
