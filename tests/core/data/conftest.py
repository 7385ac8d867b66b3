"""Small source files of the shapes the data core reads, written per test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def dialogs(tmp_path) -> Path:
    rows = [
        {"id": i, "dialogue": f"#Person1#: Hello {i}.\n#Person2#: Hi {i}!", "summary": f"They greet {i}."}
        for i in range(40)
    ]
    return write_jsonl(tmp_path / "dialogs.jsonl", rows)


@pytest.fixture
def fake_sample(tmp_path, monkeypatch) -> Path:
    """A built-in sample of the real shape (two parts, 60 and 90 rows) in a temp folder."""
    import shutil

    from ift_desktop.core.data import sources

    folder = tmp_path / "sample"
    folder.mkdir()
    shutil.copy(sources.sample_dir() / "sample.yaml", folder / "sample.yaml")
    write_jsonl(
        folder / "dialogue_summaries.jsonl",
        [
            {"id": f"d{i}", "dialogue": f"A: Shall we meet at {i}?\nB: Yes, at {i}.", "summary": f"They meet at {i}."}
            for i in range(60)
        ],
    )
    write_jsonl(
        folder / "reviews.jsonl",
        [
            {
                "id": f"r{i}",
                "review": f"Film number {i} was {'great' if i % 3 else 'awful'}.",
                "sentiment": "positive" if i % 3 else "negative",
            }
            for i in range(90)
        ],
    )
    monkeypatch.setattr(sources, "sample_dir", lambda: folder)
    return folder
