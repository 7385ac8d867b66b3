"""`prepare --out` replaces only a folder that is provably one of ours; sizes must be finite numbers."""

from __future__ import annotations

import json

import pytest

from ift_desktop import cli
from ift_desktop.core.data.dataset_files import read_manifest


@pytest.fixture
def run_cli(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", {"prepare": cli.COMMANDS["prepare"]})

    def run(*argv):
        capsys.readouterr()
        try:
            code = cli.main(["prepare", *map(str, argv)])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _prepare(run_cli, out, *extra):
    return run_cli("--source", "sample:dialogue_summaries", "--limit", "20", "--out", out, *extra)


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_a_folder_that_merely_holds_a_manifest_is_not_replaced(run_cli, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"name": "my project"}))
    (out / "thesis.tex").write_text("two years of work")
    code, _out, err = _prepare(run_cli, out)
    assert code == 2
    assert "not a prepared dataset written by IFT Desktop" in _error_line(err)
    assert (out / "thesis.tex").read_text() == "two years of work"


def test_our_manifest_beside_a_foreign_file_is_not_replaced(run_cli, tmp_path):
    out = tmp_path / "ds"
    assert _prepare(run_cli, out)[0] == 0
    (out / "notes.txt").write_text("mine")
    code, _out, err = _prepare(run_cli, out, "--seed", "7")
    assert code == 2 and "notes.txt" in _error_line(err)
    assert (out / "notes.txt").read_text() == "mine" and read_manifest(out)["seed"] == 42


def test_a_foreign_manifest_alone_is_not_replaced(run_cli, tmp_path):
    out = tmp_path / "other"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"schema_version": "x", "files": []}))
    code, _out, err = _prepare(run_cli, out)
    assert code == 2 and "not a prepared dataset written by IFT Desktop" in _error_line(err)
    assert json.loads((out / "manifest.json").read_text()) == {"schema_version": "x", "files": []}


def test_our_own_dataset_is_replaced_whole(run_cli, tmp_path):
    out = tmp_path / "ds"
    assert _prepare(run_cli, out)[0] == 0
    assert _prepare(run_cli, out, "--seed", "7")[0] == 0
    assert read_manifest(out)["seed"] == 7
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "test.jsonl", "train.jsonl", "validation.jsonl"]


@pytest.mark.parametrize("flag, value", [("--val", "inf"), ("--test", "1e309"), ("--val", "nan"), ("--test", "-inf")])
def test_sizes_that_are_not_finite_numbers_are_one_clear_line(run_cli, tmp_path, flag, value):
    code, _out, err = _prepare(run_cli, tmp_path / "ds", flag, value)
    assert code == 2
    line = _error_line(err)
    assert "unexpected" not in line and flag in line
    assert not (tmp_path / "ds").exists()


def test_split_sizes_refuse_infinity_in_the_core():
    from ift_desktop.core.data.splits import split_sizes
    from ift_desktop.core.errors import DataError

    with pytest.raises(DataError, match="must be a number"):
        split_sizes(10, val=float("inf"), test=0.1)
