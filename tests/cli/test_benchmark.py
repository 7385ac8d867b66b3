"""`ift-desktop benchmark mmlu`: the result file, the base-vs-run comparison, and bad input."""

from __future__ import annotations

import csv

import pytest
from cli_helpers import assert_one_error_line, written_json
from tiny_models import make_lora_run


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, shared_data, llama):
    root = tmp_path_factory.mktemp("cli-mmlu")
    mmlu = root / "mmlu"
    mmlu.mkdir()
    for subject in ("global_facts", "nutrition"):
        for part, n in (("dev", 5), ("test", 3)):
            source = shared_data / "mmlu" / f"{subject}_{part}.csv"
            rows = list(csv.reader(open(source, encoding="utf-8", newline="")))[:n]
            with open(mmlu / source.name, "w", encoding="utf-8", newline="") as handle:
                csv.writer(handle).writerows(rows)
    return {"base": llama, "mmlu": mmlu, "run": make_lora_run(root / "run", llama), "root": root}


MMLU = ["benchmark", "mmlu"]


def test_mmlu_for_one_model(tiny, tmp_path, ift_cli):
    result, stdout = written_json(
        ift_cli, tmp_path / "mmlu.json", *MMLU, "--data", tiny["mmlu"], "--model", tiny["base"], "--shots", "1"
    )
    assert result["benchmark"] == "mmlu" and result["shots"] == 1 and result["n"] == 6
    assert set(result["subjects"]) == {"global_facts", "nutrition"}
    assert result["accuracy"] == result["correct"] / 6 and result["run"] is None
    assert "accuracy" in stdout


def test_mmlu_run_against_its_base(tiny, tmp_path, ift_cli):
    argv = ["--data", tiny["mmlu"], "--model", tiny["base"], "--run", tiny["run"]]
    result, stdout = written_json(
        ift_cli, tmp_path / "mmlu.json", *MMLU, *argv, "--shots", "0", "--subjects", "nutrition", "--limit", "2"
    )
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
def test_bad_input_exits_2_with_one_line(tiny, tmp_path, ift_cli, argv, expected):
    argv = [a.format(root=tiny["root"], base=tiny["base"], mmlu=tiny["mmlu"]) for a in argv]
    out = tmp_path / "mmlu.json"
    code, _, err = ift_cli(*MMLU, *argv, "--out", out)
    assert_one_error_line(code, err, expected)
    assert not out.exists()
