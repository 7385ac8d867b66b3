"""Seeded splits (fractions, counts, stratified), the leakage check, and mixture sizing."""

from __future__ import annotations

from collections import Counter

import pytest

from ift_desktop.core.data.mixtures import mixture_sizes, read_mixture_file
from ift_desktop.core.data.splits import drop_leakage, find_leakage, split_examples
from ift_desktop.core.errors import DataError


def _examples(n, labels=("a",)):
    return [{"prompt": f"p{i}", "completion": labels[i % len(labels)]} for i in range(n)]


def test_fractions_counts_and_seed():
    ex = _examples(500)
    s = split_examples(ex, val=0.1, test=0.1, seed=3)
    assert [len(s[k]) for k in ("train", "validation", "test")] == [400, 50, 50]
    assert sorted(e["prompt"] for part in s.values() for e in part) == sorted(e["prompt"] for e in ex)
    assert s == split_examples(ex, val=0.1, test=0.1, seed=3)
    assert s["test"] != split_examples(ex, val=0.1, test=0.1, seed=4)["test"]
    counts = split_examples(ex, val=20, test=30, seed=3)
    assert [len(counts[k]) for k in ("train", "validation", "test")] == [450, 20, 30]
    assert len(split_examples(ex, val=0, test=0.2, seed=1)["validation"]) == 0


def test_stratified_split_keeps_label_proportions():
    ex = _examples(400, labels=("pos", "pos", "pos", "neg"))  # 3:1
    s = split_examples(ex, val=0.1, test=0.1, seed=0, stratify_key="completion")
    for name, size in (("train", 320), ("validation", 40), ("test", 40)):
        assert len(s[name]) == size
        assert Counter(e["completion"] for e in s[name])["neg"] == size // 4


@pytest.mark.parametrize(
    "val,test,message",
    [
        (0.5, 0.5, "add up to 1"),
        (0.7, 0.6, "add up to 1.3"),
        (-0.1, 0.1, "cannot be negative"),
        (0.1, 1.5, "neither a fraction below 1 nor a whole count"),
        (60, 50, "leaving nothing to train on"),
        (0.001, 0.1, "empty validation split"),
    ],
)
def test_bad_sizes(val, test, message):
    with pytest.raises(DataError, match=message):
        split_examples(_examples(100), val=val, test=test, seed=0)


def test_no_examples():
    with pytest.raises(DataError, match="no examples"):
        split_examples([], val=0.1, test=0.1, seed=0)


def test_leakage_reported_and_dropped():
    splits = {
        "train": _examples(10),
        "validation": [{"prompt": "new", "completion": "x"}],
        "test": [{"prompt": "p3 ", "completion": "x"}, {"prompt": "fresh", "completion": "y"}],
    }
    (message,) = find_leakage(splits)
    assert message.startswith(
        "1 test example(s) have the same prompt as a train example (e.g. test row 1 = train row 4)"
    )
    cleaned, removed = drop_leakage(splits)
    assert removed == 1 and [e["prompt"] for e in cleaned["test"]] == ["fresh"]
    assert find_leakage(cleaned) == []


def test_mixture_sizes_caps_weights_total():
    assert mixture_sizes([100, 300], [None, None], [None, None]) == [100, 300]
    assert mixture_sizes([100, 300], [50, 80], [None, None]) == [50, 80]
    assert mixture_sizes([100, 300], [None, None], [None, None], total=200) == [50, 150]
    assert mixture_sizes([100, 300], [None, None], [1, 1]) == [100, 100]
    assert mixture_sizes([100, 300], [None, None], [1, 3], total=200) == [50, 150]
    assert mixture_sizes([100, 300], [40, None], [1, 2]) == [40, 80]
    with pytest.raises(DataError, match="every part .* or to none"):
        mixture_sizes([10, 10], [None, None], [1, None])
    with pytest.raises(DataError, match="positive"):
        mixture_sizes([10, 10], [None, None], [1, 0])
    with pytest.raises(DataError, match="cap"):
        mixture_sizes([10, 10], [0, None], [None, None])


def test_mixture_file(tmp_path):
    path = tmp_path / "mix.yaml"
    path.write_text(
        "total: 30\nparts:\n  - source: data/a.jsonl\n    task: summarization\n"
        "    map: {document: dialogue, summary: 's1,s2'}\n    cap: 10\n  - source: sample:reviews\n"
    )
    spec = read_mixture_file(path)
    assert spec["total"] == 30
    assert spec["parts"][0]["source"] == str((tmp_path / "data" / "a.jsonl").resolve())
    assert spec["parts"][0]["map"] == {"document": ["dialogue"], "summary": ["s1", "s2"]}
    assert spec["parts"][1]["source"] == "sample:reviews"
    (tmp_path / "empty.yaml").write_text("parts: []\n")
    with pytest.raises(DataError, match="lists no parts"):
        read_mixture_file(tmp_path / "empty.yaml")
