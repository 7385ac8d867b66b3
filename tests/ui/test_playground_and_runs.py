"""Playground (shots, context meter, generation, shot comparison) and Runs (list, compare, export),
driven with a tiny model so no real model is needed."""

import json

import pytest
from tiny_models import make_tiny_dataset, make_tiny_llama

from ift_desktop.core.atomic import append_jsonl, atomic_write_json
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.playground import PlaygroundPage
from ift_desktop.ui.pages.runs import RunsPage


@pytest.fixture
def context(tmp_path):
    from PySide6.QtCore import QSettings

    return AppContext(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))


def test_playground_builds_shots_counts_context_and_answers(qtbot, context, tmp_path):
    make_tiny_dataset(context.workspace.datasets_dir / "tiny", n=12, val=2, test=3)
    model = make_tiny_llama(tmp_path / "tiny-llama")
    page = PlaygroundPage(context)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.model_other.setText(str(model))
    page._on_model_changed()
    qtbot.waitUntil(lambda: page.tokenizer_key == str(model) and page._task is None, timeout=20000)
    page.shots_spin.setValue(0)
    zero = page.prompt_edit.toPlainText()
    page.shots_spin.setValue(2)
    two = page.prompt_edit.toPlainText()
    assert zero in two or len(two) > len(zero)
    assert "context" in page.meter_label.text() and page.meter.value() > 0
    page.max_new_spin.setValue(8)
    page.generate()
    qtbot.waitUntil(lambda: page._task is None and bool(page.answer_score.text()), timeout=30000)
    assert "ROUGE-L" in page.answer_score.text()
    page.compare_n_spin.setValue(2)
    page.compare()
    qtbot.waitUntil(lambda: page._task is None and page.compare_table.rowCount() == 3, timeout=60000)
    assert [page.compare_table.item(r, 0).text() for r in range(3)] == ["0", "1", "2"]


def _fake_run(folder, losses, lr):
    folder.mkdir(parents=True)
    atomic_write_json(
        folder / "run.json",
        {
            "status": "finished",
            "model": {"display_name": "tiny"},
            "config": {"method": "lora", "learning_rate": lr, "lora_r": 8},
        },
    )
    for step, loss in enumerate(losses, start=1):
        append_jsonl(folder / "metrics.jsonl", {"step": step, "loss": loss})
    append_jsonl(folder / "metrics.jsonl", {"step": len(losses), "eval_loss": losses[-1] + 0.1})
    (folder / "adapter").mkdir()
    (folder / "adapter" / "adapter_config.json").write_text("{}")


def test_runs_page_lists_compares_and_exports(qtbot, context, tmp_path):
    _fake_run(context.workspace.runs_dir / "run-a", [2.0, 1.5, 1.2], 3e-4)
    _fake_run(context.workspace.runs_dir / "run-b", [2.1, 1.9, 1.8], 1e-4)
    (context.workspace.evaluations_dir / "e.json").write_text(
        json.dumps({"run": str(context.workspace.runs_dir / "run-a"), "corpus": {"rougeL": {"fmeasure": 0.42}}})
    )
    page = RunsPage(context)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    assert page.table.rowCount() == 2
    names = {page.table.item(r, 0).text(): r for r in range(2)}
    assert page.table.item(names["run-a"], 7).text() == "0.420"
    page.table.selectAll()
    assert "Learning rate" in page.details.text() and "Settings that differ" in page.details.text()
    assert "learning_rate" not in page.details.text()  # the settings' labels, not their keys
    assert len(page.plot.plotItem.listDataItems()) == 6  # two raw + two smoothed train curves, two validation curves
    page.table.clearSelection()
    page.table.selectRow(names["run-a"])
    page.start_export(page.selected()[0], tmp_path / "exports", False, "run-a-adapter")
    qtbot.waitUntil(lambda: page._task is None, timeout=10000)
    assert (tmp_path / "exports" / "run-a-adapter" / "adapter_config.json").exists()
    assert page.message.kind == "success"


def test_run_comparison_speaks_in_labels_and_units(qtbot, context):
    prompts_a = ["Summarize:\n\n#Person1#: Hi.\n#Person2#: Hello.", "Translate: good morning"]
    for name, steps, prompts in (("run-a", 8, prompts_a), ("run-b", 60, prompts_a[:1])):
        folder = context.workspace.runs_dir / name
        folder.mkdir(parents=True)
        atomic_write_json(
            folder / "run.json",
            {
                "status": "finished",
                "model": {"display_name": "tiny"},
                "config": {
                    "method": "lora",
                    "max_steps": steps,
                    "eval_steps": 4,
                    "probe_prompts": prompts,
                    "max_length": 512,
                },
            },
        )
        append_jsonl(folder / "metrics.jsonl", {"step": 1, "loss": 2.0})
    page = RunsPage(context)
    qtbot.addWidget(page)
    assert "Select a run" in page.details.text() and "No runs yet" not in page.details.text()
    page.table.selectAll()
    text = page.details.text()
    assert "Steps" in text and "60 steps" in text and "Probe prompts" in text and "2 prompts" in text
    for raw in ("max_steps", "probe_prompts", "\\n", '["', "schema_version"):
        assert raw not in text
    page.table.clearSelection()
    page.table.selectRow(0)
    assert "Max length (tokens)" in page.details.text() and "LoRA (adapters)" in page.details.text()
