"""The Data wizard, driven like a user would: from a CSV to a saved dataset, and its inline errors.

The tokenizer is a tiny byte-level one (``ByT5Tokenizer``, no files) injected into the
statistics step, so no model is converted or downloaded here.
"""

from __future__ import annotations

import csv
import json
import threading
import time

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from transformers import ByT5Tokenizer

from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.data import DataPage
from ift_desktop.ui.pages.data import source_step as source_module

N_ROWS = 40


def write_csv(path, rows: int = N_ROWS, columns=("id", "dialogue", "summary")):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i in range(rows):
            writer.writerow(
                [
                    f"r{i}",
                    f"A: Shall we meet at {i} o'clock?\nB: Yes, see you at the cafe number {i}.",
                    f"They agree to meet at {i} at cafe {i}.",
                ][: len(columns)]
            )
    return path


@pytest.fixture
def page(qtbot):
    context = AppContext()
    widget = DataPage(context)
    qtbot.addWidget(widget)
    widget.resize(1100, 760)
    widget.show()
    widget.stats_step.tokenizer_loader = lambda text, state=None: (ByT5Tokenizer(), False)
    yield widget
    widget.shutdown(5000)


def load_csv(qtbot, page, path):
    page.source_step.set_file(path)
    page.source_step.load()
    qtbot.waitUntil(lambda: page.state.table is not None and page.source_step.task is None, timeout=15000)


def test_wizard_from_csv_to_saved_dataset(qtbot, page, tmp_path, monkeypatch):
    threads = []  # results must reach the widgets on the UI thread, never on the worker's
    show_table = page.source_step._show_table
    monkeypatch.setattr(
        page.source_step,
        "_show_table",
        lambda *a: (threads.append(QThread.currentThread() == QApplication.instance().thread()), show_table(*a)),
    )
    path = write_csv(tmp_path / "chats.csv")
    load_csv(qtbot, page, path)
    assert threads == [True]
    assert f"{N_ROWS} rows" in page.source_step.summary.text()
    assert page.source_step.records.rowCount() == N_ROWS

    assert page.next() and page.current == 1  # columns and task: guessed from the names
    assert page.mapping_step.task_combo.currentData() == "summarization"
    assert page.mapping_step.current_mapping() == {"document": ["dialogue"], "summary": ["summary"]}

    assert page.next() and page.current == 2  # template: the live preview renders the rows
    assert "Shall we meet at 0" in page.template_step.preview.toPlainText()
    page.template_step.random_box.setChecked(True)
    assert page.next() and page.current == 3
    assert page.state.template == "random"

    step = page.split_step  # split: prepared in a worker; Next moves on once it is done
    page.next()
    qtbot.waitUntil(lambda: page.current == 4, timeout=20000)
    assert page.state.plan.counts == {"train": 32, "validation": 4, "test": 4}
    assert "train <b>32</b>" in step.result.text()

    stats = page.stats_step  # statistics with the injected tokenizer
    qtbot.waitUntil(lambda: stats.stats is not None and stats.task is None, timeout=20000)
    assert stats.stats.count == N_ROWS
    assert len(stats.histogram.lengths) == N_ROWS
    stats.max_spin.setValue(60)  # byte tokens: every example is longer than 60
    assert stats.stats.n_truncated == N_ROWS
    assert f"{N_ROWS} of {N_ROWS} examples (100.0%)" in stats.histogram.caption.text()
    pieces = stats.token_view.pieces
    assert any(p.trained for p in pieces) and any(not p.trained for p in pieces)
    assert any(p.cut for p in pieces)
    stats.max_spin.setValue(4096)
    assert stats.stats.n_truncated == 0 and not any(p.cut for p in stats.token_view.pieces)

    assert page.next() and page.current == 5
    save = page.save_step
    save.name_edit.setText("chat summaries")
    with qtbot.waitSignal(page.context.datasets_changed, timeout=15000):
        save.save()
    folder = save.saved_path
    assert folder is not None and folder.parent == page.context.workspace.datasets_dir
    lines = {
        name: (folder / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        for name in ("train", "validation", "test")
    }
    assert {k: len(v) for k, v in lines.items()} == {"train": 32, "validation": 4, "test": 4}
    row = json.loads(lines["train"][0])
    assert row["task"] == "summarization" and "o'clock" in row["prompt"] and row["completion"].startswith("They agree")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"] == {"train": 32, "validation": 4, "test": 4}
    assert manifest["mapping"] == {"document": ["dialogue"], "summary": ["summary"]}
    assert manifest["name"] == folder.name
    assert manifest["token_stats"]["max_length"] == 4096 and manifest["token_stats"]["count"] == N_ROWS
    assert [item.name for item in page.context.workspace.list_datasets()] == [folder.name]
    assert save.train_button.isVisible()
    with qtbot.waitSignal(page.context.navigate, timeout=1000) as blocker:
        save.train_button.click()
    assert blocker.args == ["train"]


def test_missing_column_is_an_inline_error(qtbot, page, tmp_path):
    path = write_csv(tmp_path / "odd.csv", columns=("id", "conversation"))
    load_csv(qtbot, page, path)
    assert page.next()
    page.mapping_step._set_task("summarization", None)
    assert not page.next()
    assert page.current == 1
    text = page.mapping_step.message.text()
    assert "'summary'" in text and "id, conversation" in text
    assert page.mapping_step.message.kind == "error"


def test_unknown_template_field_is_an_inline_error(qtbot, page, tmp_path):
    path = write_csv(tmp_path / "chats.csv")
    load_csv(qtbot, page, path)
    assert page.next() and page.next()
    step = page.template_step
    step.start_editing(copy=False)
    step.name_edit.setText("my-chat")
    step.prompt_edit.setPlainText("Summarize: {{ dialog }}")
    step.refresh_preview()
    text = step.message.text()
    assert "'dialog'" in text and "id, dialogue, summary" in text
    step.save_template()  # refused while the template is broken
    assert not (page.context.workspace.templates_dir / "my-chat.yaml").exists()
    assert not page.next() and page.current == 2

    step.prompt_edit.setPlainText("Summarize: {{ document }}")
    step.save_template()
    assert (page.context.workspace.templates_dir / "my-chat.yaml").exists()
    assert step.selected_template_name() == "my-chat"
    assert "Summarize: A: Shall we meet" in step.preview.toPlainText()
    assert page.next() and page.state.template == "my-chat"


def test_cancel_a_load(qtbot, page, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "chats.csv")
    started = threading.Event()

    def slow_load(spec, *, split, limit, state=None):
        started.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state.report(None, "Reading slowly")
            state.check_cancelled()
            time.sleep(0.01)
        raise AssertionError("the load was not cancelled")

    monkeypatch.setattr(source_module, "load_source", slow_load)
    step = page.source_step
    step.set_file(path)
    step.load()
    qtbot.waitUntil(started.is_set, timeout=5000)
    assert step.progress.isVisible() and not step.load_button.isEnabled()
    step.progress.cancel_button.click()
    qtbot.waitUntil(lambda: step.task is None, timeout=5000)
    assert step.message.kind == "info" and "Cancelled" in step.message.text()
    assert page.state.table is None and step.load_button.isEnabled()
    assert not page.next() and page.current == 0
    assert "Load a source first" in step.message.text()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("broken.jsonl", b'{"a": 1}\n{"a": \n', "line 2"),
        ("missing.csv", None, "not found"),
        ("empty.csv", b"", "empty"),
        ("noise.csv", bytes(range(256)) * 4, "binary"),
    ],
)
def test_bad_file_is_an_inline_error(qtbot, page, tmp_path, name, content, expected):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    page.source_step.set_file(path)
    page.source_step.load()
    qtbot.waitUntil(lambda: page.source_step.task is None and page.source_step.message.kind == "error", timeout=5000)
    assert expected in page.source_step.message.text().lower()
    assert name in page.source_step.message.text()
    assert page.state.table is None and page.source_step.load_button.isEnabled()


def test_fractions_out_of_range_are_an_inline_error(qtbot, page, tmp_path):
    load_csv(qtbot, page, write_csv(tmp_path / "chats.csv"))
    assert page.next() and page.next() and page.next()
    step = page.split_step
    qtbot.waitUntil(lambda: step.task is None and page.state.plan is not None, timeout=20000)
    step.val_spin.setValue(0.6)
    step.test_spin.setValue(0.5)
    assert not page.next()
    qtbot.waitUntil(lambda: step.task is None and step.message.kind == "error", timeout=20000)
    assert "add up to 1.1" in step.message.text()
    assert page.current == 3 and page.state.plan is None
    step.test_spin.setValue(0.2)
    page.next()
    qtbot.waitUntil(lambda: page.current == 4, timeout=20000)
    assert page.state.plan.counts == {"train": 8, "validation": 24, "test": 8}


def test_mixture_with_a_sample_task(qtbot, page, tmp_path):
    path = write_csv(tmp_path / "chats.csv")
    load_csv(qtbot, page, path)
    assert page.next() and page.next() and page.next()
    step = page.split_step
    qtbot.waitUntil(lambda: step.task is None and page.state.plan is not None, timeout=20000)
    step.add_sample("reviews")
    qtbot.waitUntil(lambda: step.task is None and page.state.plan is not None, timeout=20000)
    cap = step.table.cellWidget(1, 4)
    cap.setValue(20)  # cap the reviews at 20: prepared again after a short pause
    qtbot.waitUntil(
        lambda: (
            step.task is None and page.state.plan is not None and page.state.plan.manifest["components"][1]["cap"] == 20
        ),
        timeout=20000,
    )
    assert step.table.cellWidget(1, 4) is cap  # the box being edited is not rebuilt under the user
    assert step.table.item(1, 3).text() == "20 / 200"
    parts = page.state.plan.manifest["components"]
    assert [p["used"] for p in parts] == [N_ROWS, 20]
    assert {p["task"] for p in parts} == {"summarization", "classification"}
    assert sum(page.state.plan.counts.values()) == N_ROWS + 20
    assert step.table.rowCount() == 2


def test_several_target_columns_give_references(qtbot, page, tmp_path):
    path = tmp_path / "refs.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "dialogue", "summary1", "summary2"])
        for i in range(20):
            writer.writerow([i, f"A: Lunch at {i}?\nB: Sure.", f"Lunch at {i}.", f"They agree on lunch at {i}."])
    load_csv(qtbot, page, path)
    assert page.next()
    assert page.mapping_step.current_mapping()["summary"] == ["summary1", "summary2"]
    assert len(page.mapping_step.choices["summary"].combos) == 2
    page.mapping_step.choices["summary"].add_combo(None)  # a third, left empty, is ignored
    assert page.mapping_step.current_mapping()["summary"] == ["summary1", "summary2"]
    assert page.mapping_step.mapped.columnCount() == 3
    assert page.next()
    assert "2 references" in page.template_step.preview.toPlainText()


def test_hugging_face_dataset_folder_and_split(qtbot, page, tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = {"dialogue": [f"A: Tea at {i}?\nB: Yes." for i in range(30)], "summary": [f"Tea at {i}." for i in range(30)]}
    folder = tmp_path / "saved"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(rows),
            "validation": datasets.Dataset.from_dict({k: v[:20] for k, v in rows.items()}),
        }
    ).save_to_disk(str(folder))
    step = page.source_step
    step.hf_radio.setChecked(True)
    step.hf_name.setText(str(folder))
    step.hf_split.setText("validation")
    step.load()
    qtbot.waitUntil(lambda: page.state.table is not None and step.task is None, timeout=20000)
    assert len(page.state.table.records) == 20
    assert page.state.source_spec == f"hf:{folder}" and page.state.source_split == "validation"
    assert page.next() and page.next() and page.next()
    page.next()
    qtbot.waitUntil(lambda: page.current == 4, timeout=20000)
    assert page.state.plan.counts == {"train": 16, "validation": 2, "test": 2}
    assert page.state.plan.manifest["source_split"] == "validation"


def test_first_showing_loads_the_built_in_sample(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from ift_desktop.ui.context import AppContext
    from ift_desktop.ui.pages.data import DataPage

    page = DataPage(AppContext(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)))
    qtbot.addWidget(page)
    page.on_shown()
    qtbot.waitUntil(lambda: page.source_step._loaded_key is not None, timeout=20000)
    assert page.source_step._loaded_key[0].startswith("sample:")
