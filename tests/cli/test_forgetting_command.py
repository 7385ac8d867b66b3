"""`ift-desktop forgetting`: the tab's check from the command line, the same JSON, and bad input."""

from __future__ import annotations

import json

import pytest
from forgetting_helpers import make_lora_run, write_mmlu
from tiny_models import make_tiny_dataset, make_tiny_llama

from ift_desktop import cli
from ift_desktop.core.evaluation.forgetting import ClassificationCheck, check_forgetting


@pytest.fixture(autouse=True)
def only_forgetting(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", {"forgetting": cli.COMMANDS["forgetting"]})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-forget")
    base = make_tiny_llama(root / "llama")
    return {
        "root": root,
        "base": base,
        "run": make_lora_run(root / "run", base),
        "mmlu": write_mmlu(root / "mmlu"),
        "data": make_tiny_dataset(root / "data", n=4, val=2, test=3),
    }


def _run(capsys, *argv):
    try:
        code = cli.main(["forgetting", *argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _comparable(result: dict) -> dict:
    drop = ("created", "timings", "path", "base_result", "tuned_result")
    return {k: v for k, v in result.items() if k not in drop}


def test_builtin_classification_writes_what_the_tab_writes(tiny, tmp_path, capsys):
    out = tmp_path / "f.json"
    code, stdout, err = _run(
        capsys, "--run", str(tiny["run"]), "--check", "classification", "--limit", "8", "--out", str(out)
    )
    assert code == 0, err
    written = json.loads(out.read_text())
    for key in ("overall", "groups", "test", "verdict", "summary"):
        assert key in written
    tab = check_forgetting(tiny["run"], ClassificationCheck(limit=8), out_dir=tmp_path / "tab")  # what the tab calls
    assert _comparable(written) == _comparable(tab)
    assert written["summary"] in stdout and "95% intervals" in stdout


def test_mmlu_and_task_checks(tiny, tmp_path, capsys):
    out = tmp_path / "m.json"
    code, stdout, err = _run(
        capsys,
        "--run",
        str(tiny["run"]),
        "--check",
        "mmlu",
        "--data",
        str(tiny["mmlu"]),
        "--shots",
        "1",
        "--limit",
        "2",
        "--out",
        str(out),
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["check"]["kind"] == "mmlu" and result["overall"]["n"] == 4 and result["check"]["shots"] == 1
    out = tmp_path / "t.json"
    code, stdout, err = _run(
        capsys,
        "--run",
        str(tiny["run"]),
        "--check",
        "task",
        "--data",
        str(tiny["data"]),
        "--max-new-tokens",
        "4",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert json.loads(out.read_text())["metric"] == "rougeL"


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
def test_bad_input_exits_2_with_one_line(tiny, tmp_path, capsys, argv, expected):
    argv = [a.format(root=tiny["root"]) for a in argv]
    out = tmp_path / "f.json"
    code, _, err = _run(capsys, "--run", str(tiny["run"]), *argv, "--out", str(out))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], err
    assert not out.exists()


def test_mmlu_without_data_is_the_builtin_everyday_knowledge_set(tiny, tmp_path, capsys):
    out = tmp_path / "e.json"
    code, stdout, err = _run(
        capsys, "--run", str(tiny["run"]), "--check", "mmlu", "--shots", "0", "--limit", "3", "--out", str(out)
    )
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["check"]["label"] == "built-in everyday knowledge" and result["overall"]["n"] == 3
    assert [g["name"] for g in result["groups"]] == ["everyday_knowledge"]


def test_a_folder_that_is_not_a_run(tiny, tmp_path, capsys):
    code, _, err = _run(
        capsys, "--run", str(tiny["base"]), "--check", "classification", "--out", str(tmp_path / "f.json")
    )
    assert code == 2 and "not a training run" in err
