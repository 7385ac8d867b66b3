"""`ift-desktop benchmark classification`: the result file, the run comparison, and bad input."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_error_line, written_json
from tiny_models import make_lora_run

from ift_desktop.core.evaluation.classification import read_labelled, run_classification
from ift_desktop.core.models import ModelSpec, load_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, shared_data, llama):
    root = tmp_path_factory.mktemp("cli-cls")
    sst2 = root / "sst2.tsv"  # the first 12 rows of the shared SST-2 dev file
    sst2.write_text("".join((shared_data / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines(True)[:13]))
    return {"base": llama, "sst2": sst2, "run": make_lora_run(root / "run", llama), "root": root}


CLASSIFICATION = ["benchmark", "classification"]
SST2 = ["--text-column", "sentence", "--label-column", "label", "--labels", "negative,positive"]


def test_sst2_rows_with_one_model(tiny, tmp_path, ift_cli):
    argv = ["--data", tiny["sst2"], *SST2, "--model", tiny["base"], "--limit", "10"]
    result, stdout = written_json(ift_cli, tmp_path / "cls.json", *CLASSIFICATION, *argv)
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


def test_run_against_its_base(tiny, tmp_path, ift_cli):
    argv = ["--data", tiny["sst2"], *SST2, "--model", tiny["base"], "--run", tiny["run"], "--shots", "2"]
    result, stdout = written_json(ift_cli, tmp_path / "cls.json", *CLASSIFICATION, *argv)
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
def test_bad_input_exits_2_with_one_line(tiny, tmp_path, ift_cli, content, argv, expected):
    data = tiny["sst2"]
    if content is not None:
        data = tmp_path / "bad.tsv"
        data.write_text(content)
    out = tmp_path / "cls.json"
    code, _, err = ift_cli(*CLASSIFICATION, "--data", data, *argv, "--model", tiny["base"], "--out", out)
    assert_one_error_line(code, err, expected)
    assert not out.exists()


def test_missing_file_exits_2(tiny, tmp_path, ift_cli):
    argv = ["--data", tmp_path / "none.tsv", *SST2, "--model", tiny["base"], "--out", tmp_path / "x.json"]
    code, _, err = ift_cli(*CLASSIFICATION, *argv)
    assert code == 2 and "File not found" in err and len(err.strip().splitlines()) == 1
