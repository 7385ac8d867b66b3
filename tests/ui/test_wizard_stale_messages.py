"""The data wizard never shows what belongs to another source: each stale-message case of issue 12."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from test_data_wizard import load_csv, page, write_csv  # noqa: F401 - the page fixture


def walk_to_save(qtbot, page):
    assert page.next() and page.next() and page.next()
    page.next()  # split: prepared in a worker
    qtbot.waitUntil(lambda: page.current == 4, timeout=20000)
    qtbot.waitUntil(lambda: page.stats_step.stats is not None and page.stats_step.task is None, timeout=20000)
    assert page.next() and page.current == 5


def test_a_good_load_clears_the_previous_files_errors(qtbot, page, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    page.source_step.set_file(bad)
    page.source_step.load()
    qtbot.waitUntil(lambda: page.source_step.message.kind == "error", timeout=10000)
    load_csv(qtbot, page, write_csv(tmp_path / "odd.csv", columns=("id", "conversation")))
    assert page.source_step.message.kind == ""
    assert page.next()
    page.mapping_step._set_task("summarization", None)
    assert not page.next() and page.mapping_step.message.kind == "error"  # no column for 'summary'
    page.back()
    load_csv(qtbot, page, write_csv(tmp_path / "good.csv"))
    assert page.mapping_step.message.kind == ""  # the old file's error is gone with it
    assert page.next() and page.mapping_step.message.kind == ""


def test_no_saved_banner_for_another_dataset_before_saving(qtbot, page, tmp_path):
    load_csv(qtbot, page, write_csv(tmp_path / "first.csv"))
    walk_to_save(qtbot, page)
    with qtbot.waitSignal(page.context.datasets_changed, timeout=15000):
        page.save_step.save()
    assert page.save_step.message.kind == "success"
    page.go_to(0)
    load_csv(qtbot, page, write_csv(tmp_path / "second.csv", rows=30))
    walk_to_save(qtbot, page)
    assert page.save_step.message.kind == ""  # not "Saved 'first…'"
    assert page.save_step.saved_path is None and not page.save_step.train_button.isVisible()


def test_the_max_length_chosen_on_statistics_is_in_the_manifest(qtbot, page, tmp_path):
    load_csv(qtbot, page, write_csv(tmp_path / "chats.csv"))
    assert page.next() and page.next() and page.next()
    page.next()
    qtbot.waitUntil(lambda: page.current == 4, timeout=20000)
    page.stats_step.max_spin.setValue(384)
    assert page.next()
    with qtbot.waitSignal(page.context.datasets_changed, timeout=15000):
        page.save_step.save()
    manifest = json.loads((page.save_step.saved_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["max_length"] == 384


def test_step_ticks_do_not_survive_a_new_file(qtbot, page, tmp_path):
    load_csv(qtbot, page, write_csv(tmp_path / "first.csv"))
    assert page.next() and page.next() and page.current == 2
    page.go_to(0)
    assert page.step_list.item(1).text().startswith("✓")
    load_csv(qtbot, page, write_csv(tmp_path / "second.csv", rows=30))
    texts = [page.step_list.item(i).text() for i in range(page.step_list.count())]
    assert not any(text.startswith("✓") for text in texts)
    assert not page.step_list.item(2).flags() & Qt.ItemIsEnabled  # not reachable without passing step 2 again


def test_the_step_list_highlights_the_step_shown(qtbot, page, tmp_path):
    load_csv(qtbot, page, write_csv(tmp_path / "chats.csv"))
    assert page.next() and page.next() and page.next() and page.current == 3
    page.go_to(1)
    page.mapping_step.choices["summary"].combos[0].setCurrentIndex(0)  # "— none —": Next will refuse
    item = page.step_list.item(3)
    rect = page.step_list.visualItemRect(item)
    qtbot.mouseClick(page.step_list.viewport(), Qt.LeftButton, pos=rect.center())
    qtbot.wait(50)
    assert page.current == 1 and page.stack.currentIndex() == 1
    assert [page.step_list.row(i) for i in page.step_list.selectedItems()] == [1]
    assert page.step_list.currentRow() == 1


def test_a_failed_hub_load_leaves_no_old_preview(qtbot, page, tmp_path):
    load_csv(qtbot, page, write_csv(tmp_path / "chats.csv"))
    assert page.source_step.records.rowCount() > 0
    step = page.source_step
    step.hf_radio.setChecked(True)
    step.hf_name.setText(str(tmp_path / "no-such-dataset"))
    step.load()
    qtbot.waitUntil(lambda: step.task is None and step.message.kind == "error", timeout=20000)
    assert step.records.rowCount() == 0 and page.state.table is None
    assert "rows" not in step.summary.text()
    assert "Error" not in step.message.text()  # no exception class names


def test_a_misspelled_column_is_said_at_once_with_the_closest_names(qtbot, page, tmp_path):
    load_csv(qtbot, page, write_csv(tmp_path / "typo.csv", columns=("id", "dialouge", "summary")))
    assert page.next() and page.current == 1
    message = page.mapping_step.message
    assert message.kind == "warning"  # before Next is pressed
    assert "'document'" in message.text() and "'dialouge'" in message.text()
    page.mapping_step.choices["document"].combos[0].setCurrentIndex(
        page.mapping_step.choices["document"].combos[0].findData("dialouge")
    )
    assert message.kind == ""
