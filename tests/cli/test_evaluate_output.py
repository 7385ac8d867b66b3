"""`evaluate --out` is checked before any model loads: an existing evaluation is kept, an unwritable place refused."""

from __future__ import annotations

import pytest

from ift_desktop import cli
from ift_desktop.commands import evaluate as evaluate_command


@pytest.fixture
def run_cli(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", {"evaluate": cli.COMMANDS["evaluate"]})
    loads = []
    import ift_desktop.core.evaluation.evaluate as core

    monkeypatch.setattr(core, "evaluate", lambda **kwargs: loads.append(kwargs) or pytest.fail("generated first"))

    def run(*argv):
        code = cli.main(["evaluate", *map(str, argv)])
        return code, capsys.readouterr().err, loads

    return run


def _error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_an_existing_evaluation_is_kept(run_cli, tmp_path):
    out = tmp_path / "eval.json"
    out.write_text('{"mine": true}')
    code, err, loads = run_cli("--model", "builtin", "--data", tmp_path, "--out", out)
    assert code == 2 and "already exists" in _error_line(err) and not loads
    assert out.read_text() == '{"mine": true}'


def test_an_unwritable_output_is_refused_before_generating(run_cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, err, loads = run_cli("--model", "builtin", "--data", tmp_path, "--out", blocker / "eval.json")
    assert code == 2 and "Cannot write" in _error_line(err) and not loads


def test_the_check_leaves_nothing_behind(tmp_path):
    out = evaluate_command.check_output(str(tmp_path / "new" / "eval.json"))
    assert out == tmp_path / "new" / "eval.json"
    assert list((tmp_path / "new").iterdir()) == []
