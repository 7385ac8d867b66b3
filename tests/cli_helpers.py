"""Running ``ift-desktop`` in-process for tests (the ``ift_cli`` fixture of tests/conftest.py), and the
one-line refusal each command gives on bad input."""

from __future__ import annotations

import json
from pathlib import Path


def run_cli(capsys, monkeypatch, *argv) -> tuple[int, str, str]:
    """``ift-desktop ARGV...`` through ``cli.main`` with only ``argv[0]``'s command registered (the others
    import models); an argparse exit counts as the exit code. Returns (exit code, stdout, stderr)."""
    from ift_desktop import cli

    monkeypatch.setattr(cli, "COMMANDS", {argv[0]: cli.COMMANDS[argv[0]]})
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def written_json(ift_cli, out: Path, *argv) -> tuple[dict, str]:
    """Run ``ARGV... --out OUT``, which must exit 0; returns the JSON written to OUT and what was printed."""
    code, stdout, err = ift_cli(*argv, "--out", out)
    assert code == 0, err
    return json.loads(out.read_text()), stdout


def assert_one_error_line(code: int, err: str, expected: str) -> None:
    """Exit 2 with exactly one stderr line, ``error: ...``, that contains ``expected``."""
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], err
