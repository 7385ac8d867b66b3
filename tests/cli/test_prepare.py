"""`ift-desktop prepare` through the CLI: the contract's examples and each bad input (exit 2, one line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from ift_desktop import cli
from ift_desktop.core.data.dataset_files import read_manifest, read_split


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """cli.main([...]) with only the prepare subcommand registered (independent of the other commands)."""
    monkeypatch.setattr(cli, "COMMANDS", {"prepare": cli.COMMANDS["prepare"]})

    def run(*argv):
        capsys.readouterr()  # drop whatever the test's own set-up printed
        try:
            code = cli.main(["prepare", *map(str, argv)])
        except SystemExit as exc:  # argparse's own errors (already one line, status 2)
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_contract_example_dialogsum_dev(run_cli, shared_data, tmp_path):
    src = shared_data / "dialogsum" / "dialogsum.dev.jsonl"
    code, out, err = run_cli(
        "--source",
        src,
        "--task",
        "summarization",
        "--map",
        "document=dialogue",
        "--map",
        "summary=summary",
        "--val",
        "0.1",
        "--test",
        "0.1",
        "--out",
        tmp_path / "X",
    )
    assert code == 0, err
    assert "train 400, validation 50, test 50" in out
    counts = {s: len(read_split(tmp_path / "X", s)) for s in ("train", "validation", "test")}
    assert counts == {"train": 400, "validation": 50, "test": 50}
    first_dialogue = json.loads(src.read_text().splitlines()[0])["dialogue"]
    all_prompts = [r["prompt"] for s in counts for r in read_split(tmp_path / "X", s)]
    assert sum(first_dialogue in p for p in all_prompts) == 1
    manifest = read_manifest(tmp_path / "X")
    assert manifest["source"] == str(src) and manifest["seed"] == 42 and manifest["template"] == "summarize"


def test_three_references_from_the_test_file(run_cli, shared_data, tmp_path):
    code, out, err = run_cli(
        "--source",
        shared_data / "dialogsum" / "dialogsum.test.jsonl",
        "--task",
        "summarization",
        "--map",
        "document=dialogue",
        "summary=summary1,summary2,summary3",  # nargs="+" too
        "--out",
        tmp_path / "X",
    )
    assert code == 0, err
    rows = read_split(tmp_path / "X", "test")
    assert rows and all(len(r["references"]) == 3 and r["completion"] == r["references"][0] for r in rows)


def test_sst2_with_label_names_and_stratify(run_cli, shared_data, tmp_path):
    code, out, err = run_cli(
        "--source",
        shared_data / "sst2" / "dev.tsv",
        "--task",
        "classification",
        "--param",
        "labels=negative,positive",
        "--stratify",
        "--template",
        "random",
        "--val",
        "50",
        "--test",
        "100",
        "--seed",
        "3",
        "--out",
        tmp_path / "X",
    )
    assert code == 0, err
    test_rows = read_split(tmp_path / "X", "test")
    assert len(test_rows) == 100 and {r["completion"] for r in test_rows} == {"negative", "positive"}
    assert len({r["template"] for r in test_rows}) >= 3


def test_real_sample_with_no_other_flags(run_cli, tmp_path):
    code, out, err = run_cli("--source", "sample", "--out", tmp_path / "S")
    assert code == 0, err
    manifest = read_manifest(tmp_path / "S")
    assert manifest["tasks"] == ["summarization", "classification"]
    for part in manifest["components"]:
        assert part["available"] >= 150 and part["used"] == part["available"]
    tasks = Counter(r["task"] for r in read_split(tmp_path / "S", "train"))
    assert set(tasks) == {"summarization", "classification"}


def test_real_sample_mixture_with_caps(run_cli, tmp_path):
    code, out, err = run_cli(
        "--source", "sample", "--cap", "dialogue_summaries=100", "--cap", "reviews=50", "--out", tmp_path / "M"
    )
    assert code == 0, err
    assert "part dialogue_summaries: 100 of" in out and "part reviews: 50 of" in out
    for split, (summ, cls) in {"train": (80, 40), "validation": (10, 5), "test": (10, 5)}.items():
        tasks = Counter(r["task"] for r in read_split(tmp_path / "M", split))
        assert tasks == {"summarization": summ, "classification": cls}


def test_mixture_file_with_weights(run_cli, shared_data, tmp_path):
    mix = tmp_path / "mix.yaml"
    mix.write_text(
        f"parts:\n"
        f"  - name: dialogsum\n    source: {shared_data / 'dialogsum' / 'dialogsum.dev.jsonl'}\n"
        f"    task: summarization\n    map: {{document: dialogue, summary: summary}}\n"
        f"  - name: sst2\n    source: {shared_data / 'sst2' / 'dev.tsv'}\n    task: classification\n"
        f"    params: {{labels: 'negative,positive'}}\n"
    )
    code, out, err = run_cli(
        "--mixture", mix, "--weight", "dialogsum=1", "--weight", "sst2=3", "--total", "200", "--out", tmp_path / "M"
    )
    assert code == 0, err
    total = Counter(r["task"] for s in ("train", "validation", "test") for r in read_split(tmp_path / "M", s))
    assert total == {"summarization": 50, "classification": 150}


def test_list_templates(run_cli):
    code, out, _ = run_cli("--list-templates")
    assert code == 0 and "qa-closed-qa" in out and "tldr" in out


def _bad_inputs(tmp_path: Path, shared_data: Path) -> dict:
    dev = shared_data / "dialogsum" / "dialogsum.dev.jsonl"
    binary = tmp_path / "weights.jsonl"
    binary.write_bytes(bytes(range(256)) * 4)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ncaf\xe9,1\n".encode("latin-1"))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"document": "a", "summary": "b"}\n{"document": "c", "summary": \n', encoding="utf-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    tiny = tmp_path / "tiny.jsonl"
    tiny.write_text("".join(json.dumps({"document": f"d{i}", "summary": "s"}) + "\n" for i in range(5)))
    summ = ["--task", "summarization", "--map", "document=dialogue", "--map", "summary=summary"]
    return {
        "missing file": (["--source", tmp_path / "nope.jsonl", *summ], "File not found: .*nope.jsonl"),
        "binary file": (["--source", binary, "--task", "summarization"], "looks like a binary file"),
        "non-UTF-8": (["--source", latin, "--task", "classification"], r"latin.csv is not valid UTF-8 .*line 2"),
        "malformed JSON line": (
            ["--source", broken, "--task", "summarization"],
            r"Line 2 of .*broken.jsonl is not valid JSON",
        ),
        "missing column": (
            ["--source", dev, "--task", "summarization", "--map", "document=dialog"],
            "Column 'dialog' not found in .*; columns are: fname, dialogue, summary, topic",
        ),
        "empty dataset": (["--source", empty, "--task", "summarization"], "has no rows"),
        "empty split": (["--source", tiny, "--task", "summarization", "--val", "0.05"], "empty validation split"),
        "fractions sum": (["--source", dev, *summ, "--val", "0.5", "--test", "0.5"], "add up to 1"),
        "negative fraction": (["--source", dev, *summ, "--val", "-0.1"], "negative"),
        "unknown task": (["--source", dev, "--task", "poetry"], "Unknown task 'poetry'; the known tasks are"),
        "unknown template": (["--source", dev, *summ, "--template", "nope"], "Unknown template 'nope'"),
        "template field unknown": (
            ["--source", dev, "--task", "translation", "--map", "source=dialogue", "--map", "target=summary"],
            "uses 'source_lang', 'target_lang'.*available fields",
        ),
        "no task": (["--source", dev], "Choose a task"),
    }


CASES = [
    "missing file",
    "binary file",
    "non-UTF-8",
    "malformed JSON line",
    "missing column",
    "empty dataset",
    "empty split",
    "fractions sum",
    "negative fraction",
    "unknown task",
    "unknown template",
    "template field unknown",
    "no task",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_with_one_line(case, run_cli, shared_data, tmp_path):
    argv, pattern = _bad_inputs(tmp_path, shared_data)[case]
    out_dir = tmp_path / "out"
    code, _, err = run_cli(*argv, "--out", out_dir)
    assert code == 2
    line = _one_line_error(err)
    import re

    assert re.search(pattern, line), line
    assert not out_dir.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_failed_prepare_keeps_the_previous_dataset(run_cli, shared_data, tmp_path):
    dev = shared_data / "dialogsum" / "dialogsum.dev.jsonl"
    args = ["--source", dev, "--task", "summarization", "--limit", "40", "--out", tmp_path / "X"]
    assert run_cli(*args)[0] == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "X").iterdir()}
    code, _, err = run_cli(*args, "--map", "document=dialog")
    assert code == 2 and "Column 'dialog' not found" in err
    assert {p.name: p.read_bytes() for p in (tmp_path / "X").iterdir()} == before


def test_console_entry_point_without_traceback(tmp_path):
    env = {**os.environ, "IFT_DESKTOP_HOME": str(tmp_path / "home"), "IFT_DESKTOP_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ift_desktop",
            "prepare",
            "--source",
            str(tmp_path / "missing.csv"),
            "--task",
            "summarization",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert _one_line_error(proc.stderr).startswith("error: File not found:")


def test_hf_saved_dataset_with_split(run_cli, tmp_path):
    import datasets

    rows = {"question": [f"What is {i} plus {i}?" for i in range(30)], "answer": [str(2 * i) for i in range(30)]}
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(rows),
            "validation": datasets.Dataset.from_dict({k: v[:10] for k, v in rows.items()}),
        }
    ).save_to_disk(str(tmp_path / "arith"))
    code, out, err = run_cli(
        "--source",
        f"hf:{tmp_path / 'arith'}",
        "--split",
        "validation",
        "--task",
        "qa",
        "--val",
        "0",
        "--test",
        "2",
        "--out",
        tmp_path / "X",
    )
    assert code == 0, err
    assert "template qa-closed-answer" in out and "train 8, validation 0, test 2" in out
    assert err == ""
    assert read_manifest(tmp_path / "X")["source_split"] == "validation"


def test_max_length_is_kept_in_the_manifest(run_cli, tmp_path):
    code, _out, err = run_cli("--source", "sample", "--max-length", "384", "--out", tmp_path / "mix")
    assert code == 0, err
    assert read_manifest(tmp_path / "mix")["max_length"] == 384
    code, _out, err = run_cli(
        "--source",
        "sample:dialogue_summaries",
        "--task",
        "summarization",
        "--max-length",
        "256",
        "--out",
        tmp_path / "one",
    )
    assert code == 0, err
    assert read_manifest(tmp_path / "one")["max_length"] == 256


def test_a_misspelled_column_gets_the_closest_name(run_cli, shared_data, tmp_path):
    code, _out, err = run_cli(
        "--source",
        shared_data / "dialogsum" / "dialogsum.dev.jsonl",
        "--task",
        "summarization",
        "--map",
        "document=dialouge",
        "--map",
        "summary=summary",
        "--out",
        tmp_path / "d",
    )
    assert code == 2
    assert "Did you mean 'dialogue'?" in _one_line_error(err)
