"""prepare(): mapping, templates, several references, manifests, mixtures and atomic output."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ift_desktop.core.data.dataset_files import read_manifest, read_split, references_of, write_dataset
from ift_desktop.core.data.prepare import (
    MixtureComponent,
    PrepareConfig,
    build_examples,
    prepare,
    prepare_mixture,
)
from ift_desktop.core.data.sources import Table, load_source
from ift_desktop.core.errors import Cancelled, DataError, TemplateError
from ift_desktop.core.progress import TaskState


def test_dialogsum_dev_400_50_50(shared_data, tmp_path):
    src = shared_data / "dialogsum" / "dialogsum.dev.jsonl"
    config = PrepareConfig(str(src), task="summarization", mapping={"document": ["dialogue"], "summary": ["summary"]})
    result = prepare(config, tmp_path / "out")
    assert result.counts == {"train": 400, "validation": 50, "test": 50}
    dialogues = {" ".join(json.loads(line)["dialogue"].split()) for line in src.read_text().splitlines()}
    for split in ("train", "validation", "test"):
        rows = read_split(tmp_path / "out", split)
        assert all(r["task"] == "summarization" and r["completion"] for r in rows)
        assert all(any(d in " ".join(r["prompt"].split()) for d in dialogues) for r in rows[:10])
    manifest = read_manifest(tmp_path / "out")
    assert manifest["counts"] == result.counts
    assert manifest["mapping"] == {"document": ["dialogue"], "summary": ["summary"]}
    for key in ("source", "template", "seed", "task", "tasks", "schema_version", "created"):
        assert key in manifest
    # DialogSum dev repeats two dialogues; the check may or may not see them across splits,
    # but whatever it reports matches what is on disk.
    assert manifest["leakage"] == result.leakage


def test_three_references(shared_data, tmp_path):
    config = PrepareConfig(
        str(shared_data / "dialogsum" / "dialogsum.test.jsonl"),
        task="summarization",
        mapping={"document": ["dialogue"], "summary": ["summary1", "summary2", "summary3"]},
    )
    prepare(config, tmp_path / "out")
    rows = read_split(tmp_path / "out", "test")
    assert all(len(r["references"]) == 3 and r["completion"] == r["references"][0] for r in rows)
    assert references_of(rows[0]) == rows[0]["references"]
    assert read_manifest(tmp_path / "out")["references"] is True


def test_random_template_is_seeded_and_varied(dialogs):
    table = load_source(str(dialogs))
    config = PrepareConfig(str(dialogs), task="summarization", template="random", seed=7)
    first = build_examples(table, config)
    assert len(Counter(e["template"] for e in first)) >= 3
    assert first == build_examples(table, config)


def test_classification_label_names_options_and_stratify(shared_data, tmp_path):
    config = PrepareConfig(
        str(shared_data / "sst2" / "dev.tsv"),
        task="classification",
        stratify=True,
        params={"labels": "negative,positive"},
        template="classify",
    )
    result = prepare(config, tmp_path / "out")
    rows = read_split(tmp_path / "out", "test")
    assert {r["completion"] for r in rows} == {"negative", "positive"}
    assert "one of: negative, positive" in rows[0]["prompt"]
    table = load_source(str(shared_data / "sst2" / "dev.tsv"))
    share = sum(r["label"] == "1" for r in table.records) / len(table)
    for split in ("train", "test"):
        got = read_split(tmp_path / "out", split)
        assert abs(sum(r["completion"] == "positive" for r in got) / len(got) - share) < 0.02
    assert result.manifest["labels"] == ["negative", "positive"]


def test_translation_params_and_missing_param(tmp_path):
    table = Table([{"en": "Hello", "de": "Hallo"}] * 3, ["en", "de"], "pairs.csv")
    config = PrepareConfig("pairs.csv", task="translation", params={"source_lang": "English", "target_lang": "German"})
    (first, *_) = build_examples(table, config)
    assert first["prompt"] == "Translate the following sentence from English to German:\n\nHello"
    with pytest.raises(TemplateError, match="'source_lang', 'target_lang'"):
        build_examples(table, PrepareConfig("pairs.csv", task="translation"))


def test_empty_rows_skipped_and_all_empty_is_an_error(tmp_path):
    table = Table([{"d": "x", "s": "y"}, {"d": "", "s": "y"}, {"d": "x", "s": None}], ["d", "s"], "t.jsonl")
    report: dict = {}
    config = PrepareConfig("t.jsonl", task="summarization", mapping={"document": ["d"], "summary": ["s"]})
    assert len(build_examples(table, config, report=report)) == 1 and report["skipped"] == 2
    empty = Table([{"d": "", "s": "y"}], ["d", "s"], "t.jsonl")
    with pytest.raises(DataError, match="No usable rows in t.jsonl"):
        build_examples(empty, config)


def test_mapping_errors(dialogs):
    table = load_source(str(dialogs))
    with pytest.raises(
        DataError, match=r"Column 'dialog' not found in .*dialogs.jsonl; columns are: id, dialogue, summary"
    ):
        build_examples(table, PrepareConfig(str(dialogs), task="summarization", mapping={"document": ["dialog"]}))
    with pytest.raises(DataError, match="has no field 'text'; its fields are: document, summary"):
        build_examples(table, PrepareConfig(str(dialogs), task="summarization", mapping={"text": ["dialogue"]}))
    with pytest.raises(DataError, match="needs the field 'summary'.*--map summary=COLUMN"):
        build_examples(table, PrepareConfig(str(dialogs), task="summarization", mapping={"document": ["dialogue"]}))
    with pytest.raises(
        TemplateError, match="'qa-extractive-read' is for qa, not summarization; pick one of: random, summarize"
    ):
        build_examples(table, PrepareConfig(str(dialogs), task="summarization", template="qa-extractive-read"))


def test_failed_prepare_leaves_existing_dataset_intact(dialogs, tmp_path):
    out = tmp_path / "out"
    prepare(PrepareConfig(str(dialogs), task="summarization"), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(DataError):
        prepare(PrepareConfig(str(dialogs), task="summarization", val=0.6, test=0.6), out)
    with pytest.raises(DataError):
        prepare(PrepareConfig(str(dialogs), task="summarization", mapping={"document": ["nope"]}), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_write_failure_midway_keeps_old_dataset(tmp_path, monkeypatch):
    out = tmp_path / "ds"
    write_dataset(out, {"train": [{"prompt": "a", "completion": "b"}]}, {"source": "old"})
    from ift_desktop.core.data import dataset_files

    calls = []

    def failing(path, rows):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(path, rows)

    real = dataset_files.atomic_write_jsonl
    monkeypatch.setattr(dataset_files, "atomic_write_jsonl", failing)
    with pytest.raises(OSError):
        write_dataset(out, {"train": [{"prompt": "new", "completion": "x"}]}, {"source": "new"})
    assert read_manifest(out)["source"] == "old"
    assert read_split(out, "train") == [{"prompt": "a", "completion": "b"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_refuses_to_overwrite_a_folder_that_is_not_a_dataset(dialogs, tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.txt").write_text("mine")
    with pytest.raises(DataError, match="not a prepared dataset"):
        prepare(PrepareConfig(str(dialogs), task="summarization"), tmp_path / "precious")
    assert (tmp_path / "precious" / "thesis.txt").read_text() == "mine"


def test_cancel(dialogs, tmp_path):
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        prepare(PrepareConfig(str(dialogs), task="summarization"), tmp_path / "out", state=state)
    assert not (tmp_path / "out").exists()


def test_read_split_errors(tmp_path):
    with pytest.raises(DataError, match="No prepared dataset"):
        read_split(tmp_path / "missing", "train")
    write_dataset(tmp_path / "ds", {"train": [{"prompt": "a", "completion": "b"}]}, {})
    (tmp_path / "ds" / "test.jsonl").write_text('{"prompt": "a", "completion": "b"}\n{oops\n')
    with pytest.raises(DataError, match="Line 2 of .*test.jsonl is not valid JSON"):
        read_split(tmp_path / "ds", "test")
    with pytest.raises(DataError, match="Unknown split 'dev'"):
        read_split(tmp_path / "ds", "dev")


# ------------------------------------------------------------------------------- mixtures
def _part_counts(folder):
    counts = {}
    for split in ("train", "validation", "test"):
        counts[split] = Counter(r["task"] for r in read_split(folder, split))
    return counts


def test_sample_mixture_with_caps_comes_out_in_proportion(fake_sample, tmp_path):
    result = prepare_mixture(
        [
            MixtureComponent(PrepareConfig("sample:dialogue_summaries"), cap=40),
            MixtureComponent(PrepareConfig("sample:reviews"), cap=20),
        ],
        tmp_path / "mix",
        val=0.1,
        test=0.1,
        seed=1,
    )
    assert result.counts == {"train": 48, "validation": 6, "test": 6}
    counts = _part_counts(tmp_path / "mix")
    assert counts["train"] == {"summarization": 32, "classification": 16}
    assert counts["test"] == {"summarization": 4, "classification": 2}
    parts = {p["name"]: p for p in result.manifest["components"]}
    assert parts["dialogue_summaries"]["used"] == 40 and parts["reviews"]["available"] == 90
    assert result.manifest["tasks"] == ["summarization", "classification"]


def test_mixture_weights_and_total(fake_sample, tmp_path):
    result = prepare_mixture(
        [
            MixtureComponent(PrepareConfig("sample:dialogue_summaries"), weight=1),
            MixtureComponent(PrepareConfig("sample:reviews"), weight=3),
        ],
        tmp_path / "mix",
        val=0.1,
        test=0.1,
        seed=1,
        total=80,
    )
    assert sum(result.counts.values()) == 80
    total = sum((c for c in _part_counts(tmp_path / "mix").values()), Counter())
    assert total == {"summarization": 20, "classification": 60}


def test_prepare_source_sample_mixes_both_parts(fake_sample, tmp_path):
    result = prepare(PrepareConfig("sample"), tmp_path / "s")
    assert sum(result.counts.values()) == 150
    assert result.manifest["tasks"] == ["summarization", "classification"]
    only = prepare(PrepareConfig("sample", task="classification"), tmp_path / "c")
    assert only.manifest["tasks"] == ["classification"] and sum(only.counts.values()) == 90
    one = prepare(PrepareConfig("sample:reviews"), tmp_path / "r")
    assert one.manifest["mapping"] == {"text": ["review"], "label": ["sentiment"]}


def test_leakage_is_found_on_inputs_even_under_different_phrasings(tmp_path):
    from conftest import write_jsonl

    rows = [{"document": f"doc {i}", "summary": f"s {i}"} for i in range(30)]
    rows += [{"document": f"doc {i}", "summary": f"again {i}"} for i in range(30)]  # every input twice
    src = write_jsonl(tmp_path / "dup.jsonl", rows)
    result = prepare(PrepareConfig(str(src), task="summarization", template="random", val=10, test=10), tmp_path / "a")
    assert result.leakage and "same input as a train example" in result.leakage[0]
    assert all("_input" not in r for s in ("train", "test") for r in read_split(tmp_path / "a", s))
    cleaned = prepare(
        PrepareConfig(str(src), task="summarization", template="random", val=10, test=10, drop_leakage=True),
        tmp_path / "b",
    )
    train_docs = {r["prompt"].split("doc ")[1].split()[0] for r in read_split(tmp_path / "b", "train")}
    test_docs = {r["prompt"].split("doc ")[1].split()[0] for r in read_split(tmp_path / "b", "test")}
    assert cleaned.manifest["leakage_removed"] > 0 and not train_docs & test_docs


def test_sample_template_override_applies_to_its_task(fake_sample, tmp_path):
    result = prepare(PrepareConfig("sample", template="tldr"), tmp_path / "s")
    used = {p["name"]: p["templates_used"] for p in result.manifest["components"]}
    assert used == {"dialogue_summaries": {"tldr": 60}, "reviews": {"sentiment-options": 90}}
    with pytest.raises(TemplateError, match="'qa-closed-qa' is for qa"):
        prepare(PrepareConfig("sample", template="qa-closed-qa"), tmp_path / "t")


def test_references_follow_the_completion_template_and_numeric_labels_get_a_note(tmp_path):
    from ift_desktop.core.data.templates import Template, TemplateLibrary

    library = TemplateLibrary()
    library.save_user_template(Template("labelled", "summarization", "{{ document }}", "Summary: {{ summary }}"))
    table = Table([{"d": "x", "s1": "one", "s2": "two"}], ["d", "s1", "s2"], "t.jsonl")
    config = PrepareConfig(
        "t.jsonl", task="summarization", template="labelled", mapping={"document": ["d"], "summary": ["s1", "s2"]}
    )
    (example,) = build_examples(table, config, library)
    assert example["completion"] == "Summary: one"
    assert example["references"] == ["Summary: one", "Summary: two"]
    numbers = Table([{"t": f"text {i}", "l": i % 2} for i in range(20)], ["t", "l"], "n.jsonl")
    report: dict = {}
    build_examples(
        numbers, PrepareConfig("n.jsonl", task="classification", mapping={"text": ["t"], "label": ["l"]}), report=report
    )
    assert "--param labels=" in report["notes"][0]
