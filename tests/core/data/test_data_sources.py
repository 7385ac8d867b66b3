"""Loading every supported source kind, and every bad input a user can hand us."""

from __future__ import annotations

import json

import pytest

from ift_desktop.core.data.sources import load_source, parse_hf_spec, sample_tasks
from ift_desktop.core.errors import DataError


def test_jsonl_with_limit_and_columns(tmp_path, dialogs):
    table = load_source(str(dialogs), limit=5)
    assert len(table) == 5
    assert table.columns == ["id", "dialogue", "summary"]
    assert table.records[0]["summary"] == "They greet 0."


def test_csv_with_quoted_newlines(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('text,label\n"one, with comma",pos\n"two\nlines",neg\n', encoding="utf-8")
    table = load_source(str(path))
    assert table.records == [{"text": "one, with comma", "label": "pos"}, {"text": "two\nlines", "label": "neg"}]


def test_sst2_tsv(shared_data):
    table = load_source(str(shared_data / "sst2" / "dev.tsv"))
    assert table.columns == ["sentence", "label"]
    assert len(table) == 872
    assert {r["label"] for r in table.records} == {"0", "1"}


def test_tsv_is_unquoted(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text('sentence\tlabel\n"quoted" start , and \' apostrophe\t1\n', encoding="utf-8")
    assert load_source(str(path)).records == [{"sentence": '"quoted" start , and \' apostrophe', "label": "1"}]


@pytest.mark.parametrize("shape", ["array", "data", "columns"])
def test_json_shapes(tmp_path, shape):
    rows = [{"q": "a?", "a": "x"}, {"q": "b?", "a": "y"}]
    data = {"array": rows, "data": {"data": rows, "version": 1}, "columns": {"q": ["a?", "b?"], "a": ["x", "y"]}}[shape]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_source(str(path)).records == rows


def test_parquet(tmp_path):
    import pandas as pd

    path = tmp_path / "d.parquet"
    pd.DataFrame({"text": [f"t{i}" for i in range(10)], "label": [i % 2 for i in range(10)]}).to_parquet(path)
    table = load_source(str(path), limit=4)
    assert table.columns == ["text", "label"]
    assert table.records[3] == {"text": "t3", "label": 1}
    assert len(table) == 4


def test_hf_saved_dataset_uses_class_label_names_and_split(tmp_path):
    import datasets

    features = datasets.Features(
        {"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["negative", "positive"])}
    )
    ds = datasets.Dataset.from_dict({"sentence": ["good", "bad", "ok"], "label": [1, 0, 1]}, features=features)
    datasets.DatasetDict({"train": ds, "validation": ds.select([0])}).save_to_disk(str(tmp_path / "saved"))
    table = load_source(f"hf:{tmp_path / 'saved'}", split="validation")
    assert table.records == [{"sentence": "good", "label": "positive"}]
    assert table.label_names == {"label": ["negative", "positive"]}
    from ift_desktop.core.data.prepare import PrepareConfig, build_examples

    (example,) = build_examples(table, PrepareConfig("hf", task="classification", template="classify"))
    assert "one of: negative, positive" in example["prompt"]  # all class names, though one is present
    with pytest.raises(DataError, match="no split 'nope'; its splits are: train, validation"):
        load_source(f"hf:{tmp_path / 'saved'}", split="nope")


def test_hf_load_dataset_on_local_data_dir(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    folder = tmp_path / "mydata"
    folder.mkdir()
    for split, n in (("train", 6), ("test", 3)):
        (folder / f"{split}.jsonl").write_text(
            "".join(json.dumps({"question": f"{split} {i}?", "answer": str(i)}) + "\n" for i in range(n))
        )
    table = load_source(f"hf:{folder}", split="test")
    assert [r["question"] for r in table.records] == ["test 0?", "test 1?", "test 2?"]
    assert len(load_source(f"hf:{folder}", split="train", limit=2)) == 2


def test_hf_spec_parsing(tmp_path):
    assert parse_hf_spec("glue:sst2") == ("glue", "sst2")
    assert parse_hf_spec("org/name") == ("org/name", None)
    weird = tmp_path / "a:b"
    weird.mkdir()
    assert parse_hf_spec(str(weird)) == (str(weird), None)


def test_hub_dataset_offline_is_a_clear_error():
    with pytest.raises(DataError, match="Could not load hf:someone/missing"):
        load_source("hf:someone/missing")


def test_sample_yaml_names_two_tasks():
    tasks = {t.name: t for t in sample_tasks()}
    assert tasks["dialogue_summaries"].task == "summarization"
    assert tasks["dialogue_summaries"].mapping == {"document": ["dialogue"], "summary": ["summary"]}
    assert tasks["reviews"].task == "classification"
    assert tasks["reviews"].mapping == {"text": ["review"], "label": ["sentiment"]}


def test_sample_source(fake_sample):
    assert load_source("sample:reviews").columns == ["id", "review", "sentiment"]
    assert load_source("sample").origin == "sample:dialogue_summaries"
    with pytest.raises(DataError, match="no part 'nope'; its parts are: dialogue_summaries, reviews"):
        load_source("sample:nope")


# ------------------------------------------------------------------------------- bad input
def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="File not found: .*nope.jsonl"):
        load_source(str(tmp_path / "nope.jsonl"))


def test_binary_file(tmp_path):
    path = tmp_path / "model.jsonl"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DataError, match="looks like a binary file"):
        load_source(str(path))


def test_non_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncaf\u00e9,1\n".encode("utf-8") + "na\u00efve,0\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid UTF-8 \(byte \d+, line 3\)"):
        load_source(str(path))


def test_malformed_json_line_names_line_and_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"Line 3 of .*bad.jsonl is not valid JSON"):
        load_source(str(path))


def test_jsonl_line_that_is_not_an_object(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text('{"a": 1}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(DataError, match="Line 2 of .* is a JSON list"):
        load_source(str(path))


def test_csv_row_with_wrong_field_count(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n1,2,3\n", encoding="utf-8")
    with pytest.raises(DataError, match="Line 3 of .* has 3 fields but the header has 2"):
        load_source(str(path))


@pytest.mark.parametrize(
    "name,content", [("empty.jsonl", ""), ("empty.csv", "a,b\n"), ("empty.json", "[]"), ("blank.csv", "")]
)
def test_empty_dataset(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match="no rows|is empty"):
        load_source(str(path))


def test_unknown_extension_and_folder(tmp_path):
    (tmp_path / "d.xlsx").write_text("x")
    with pytest.raises(DataError, match="extension '.xlsx'"):
        load_source(str(tmp_path / "d.xlsx"))
    with pytest.raises(DataError, match="is a folder"):
        load_source(str(tmp_path))


def test_broken_parquet(tmp_path):
    path = tmp_path / "d.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="Cannot read .* as Parquet|binary"):
        load_source(str(path))


def test_unreadable_file(tmp_path, monkeypatch):
    from pathlib import Path

    path = tmp_path / "locked.csv"
    path.write_text("a,b\n1,2\n")
    real = Path.read_bytes

    def denied(self):
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(DataError, match="Cannot read .*locked.csv: permission denied"):
        load_source(str(path))
