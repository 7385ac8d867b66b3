"""`ift-desktop forgetting`: the tab's check from the command line, the same JSON, and bad input."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_error_line, written_json
from forgetting_helpers import write_mmlu
from tiny_models import make_lora_run

from ift_desktop.core.evaluation.forgetting import ClassificationCheck, check_forgetting

TINY_DATA = dict(n=4, val=2, test=3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, llama, data):
    root = tmp_path_factory.mktemp("cli-forget")
    return {
        "root": root,
        "base": llama,
        "run": make_lora_run(root / "run", llama),
        "mmlu": write_mmlu(root / "mmlu"),
        "data": data,
    }


def _comparable(result: dict) -> dict:
    drop = ("created", "timings", "path", "base_result", "tuned_result")
    return {k: v for k, v in result.items() if k not in drop}


def test_builtin_classification_writes_what_the_tab_writes(tiny, tmp_path, ift_cli):
    argv = ["forgetting", "--run", tiny["run"], "--check", "classification", "--limit", "8"]
    written, stdout = written_json(ift_cli, tmp_path / "f.json", *argv)
    for key in ("overall", "groups", "test", "verdict", "summary"):
        assert key in written
    tab = check_forgetting(tiny["run"], ClassificationCheck(limit=8), out_dir=tmp_path / "tab")  # what the tab calls
    assert _comparable(written) == _comparable(tab)
    assert written["summary"] in stdout and "95% intervals" in stdout


def test_mmlu_and_task_checks(tiny, tmp_path, ift_cli):
    run = ["forgetting", "--run", tiny["run"]]
    mmlu = ["--check", "mmlu", "--data", tiny["mmlu"], "--shots", "1", "--limit", "2"]
    result, _ = written_json(ift_cli, tmp_path / "m.json", *run, *mmlu)
    assert result["check"]["kind"] == "mmlu" and result["overall"]["n"] == 4 and result["check"]["shots"] == 1
    task = ["--check", "task", "--data", tiny["data"], "--max-new-tokens", "4"]
    result, _ = written_json(ift_cli, tmp_path / "t.json", *run, *task)
    assert result["metric"] == "rougeL"


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--check", "task"], "needs --data"),
        (["--check", "classification", "--data", "{root}/x.tsv"], "--text-column and --label-column"),
        (
            ["--check", "classification", "--data", "{root}/x.tsv", "--text-column", "a", "--label-column", "b"],
            "File not found",
        ),
        (["--check", "task", "--data", "{root}/none"], "does not exist"),
        (["--check", "astrology"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(tiny, tmp_path, ift_cli, argv, expected):
    argv = [a.format(root=tiny["root"]) for a in argv]
    out = tmp_path / "f.json"
    code, _, err = ift_cli("forgetting", "--run", tiny["run"], *argv, "--out", out)
    assert_one_error_line(code, err, expected)
    assert not out.exists()


def test_mmlu_without_data_is_the_builtin_everyday_knowledge_set(tiny, tmp_path, ift_cli):
    argv = ["forgetting", "--run", tiny["run"], "--check", "mmlu", "--shots", "0", "--limit", "3"]
    result, _ = written_json(ift_cli, tmp_path / "e.json", *argv)
    assert result["check"]["label"] == "built-in everyday knowledge" and result["overall"]["n"] == 3
    assert [g["name"] for g in result["groups"]] == ["everyday_knowledge"]


def test_a_folder_that_is_not_a_run(tiny, tmp_path, ift_cli):
    code, _, err = ift_cli(
        "forgetting", "--run", tiny["base"], "--check", "classification", "--out", tmp_path / "f.json"
    )
    assert code == 2 and "not a training run" in err
