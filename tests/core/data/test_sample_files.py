"""Shape checks for the built-in sample files shipped in resources/sample."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from ift_desktop.core.paths import resources_dir

SAMPLE = resources_dir() / "sample"
PARTS = {
    "dialogue_summaries.jsonl": ("dlg-", ["dialogue", "summary"]),
    "reviews.jsonl": ("rev-", ["review", "sentiment"]),
}
TURN = re.compile(r"^#Person[123]#: \S")


def _rows(name: str) -> list[dict]:
    rows = []
    for number, line in enumerate((SAMPLE / name).read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"{name}:{number} is blank"
        row = json.loads(line)
        assert isinstance(row, dict), f"{name}:{number} is not a JSON object"
        rows.append(row)
    return rows


def _words(text: str) -> int:
    return len(re.sub(r"#Person\d#:", " ", text).split())


@pytest.mark.parametrize("name", sorted(PARTS))
def test_rows_have_unique_ids_and_non_empty_fields(name):
    prefix, fields = PARTS[name]
    rows = _rows(name)
    assert len(rows) >= 180
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == len(ids), [i for i, n in Counter(ids).items() if n > 1]
    for row in rows:
        assert set(row) == {"id", *fields}, row["id"]
        assert row["id"].startswith(prefix)
        for field in fields:
            assert isinstance(row[field], str) and row[field].strip(), (row["id"], field)
    main_text = fields[0]
    texts = [" ".join(row[main_text].lower().split()) for row in rows]
    duplicated = [t for t, n in Counter(texts).items() if n > 1]
    assert not duplicated, duplicated[:3]


def test_dialogues_are_speaker_turns_with_short_summaries():
    rows = _rows("dialogue_summaries.jsonl")
    for row in rows:
        turns = row["dialogue"].split("\n")
        assert 4 <= len(turns) <= 10, row["id"]
        assert all(TURN.match(turn) for turn in turns), row["id"]
        order = [turn.split(":", 1)[0] for turn in turns]
        assert {"#Person1#", "#Person2#"} <= set(order), row["id"]
        assert all(a != b for a, b in zip(order, order[1:])), f"{row['id']}: one speaker has two turns in a row"
        assert 50 <= _words(row["dialogue"]) <= 150, row["id"]
        summary = row["summary"]
        assert 12 <= len(summary.split()) <= 30, row["id"]
        assert summary.startswith("#Person") and summary.endswith("."), row["id"]
        assert set(re.findall(r"#Person\d#", summary)) <= set(order), row["id"]
    summaries = [row["summary"] for row in rows]
    assert len(set(summaries)) == len(summaries)


def test_reviews_have_both_labels_in_balance():
    rows = _rows("reviews.jsonl")
    labels = Counter(row["sentiment"] for row in rows)
    assert set(labels) == {"positive", "negative"}
    assert min(labels.values()) >= 0.4 * len(rows)
    for row in rows:
        assert 5 <= len(row["review"].split()) <= 80, row["id"]
    first_half = Counter(row["sentiment"] for row in rows[: len(rows) // 2])
    assert min(first_half.values()) >= 0.3 * (len(rows) // 2), "labels are not interleaved"
