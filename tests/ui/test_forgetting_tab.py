"""The Evaluate page's Forgetting tab: a real check with a tiny run, stored results, inline failures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from ift_desktop.core.evaluation.forgetting import forgetting_dir
from ift_desktop.core.models import ModelSpec
from ift_desktop.core.workspace import Workspace
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.evaluate import EvaluatePage
from ift_desktop.ui.pages.evaluate import forgetting as tab_module
from ift_desktop.ui.pages.evaluate.forgetting import MMLU_SETTING, ForgettingTab


def make_run(folder, base_folder=None):
    """A run folder: run.json naming the base model, plus a random LoRA adapter when a base is given."""
    folder.mkdir(parents=True)
    model = (
        ModelSpec.parse(str(base_folder)).to_dict() if base_folder else {"source": "builtin", "name_or_path": "builtin"}
    )
    record = {"model": model, "config": {"method": "lora"}, "status": "finished" if base_folder else "failed"}
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    if base_folder:
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM

        peft = get_peft_model(
            AutoModelForCausalLM.from_pretrained(base_folder),
            LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
        )
        peft.save_pretrained(folder / "adapter")
    return folder


def write_mmlu(folder, subjects=("astronomy", "virology")):
    folder.mkdir(parents=True)
    for s, subject in enumerate(subjects):
        for split, n in (("dev", 3), ("test", 4)):
            rows = [f"Question {i} on {subject}?,one,two,three,four,{'ABCD'[(i + s) % 4]}" for i in range(n)]
            (folder / f"{subject}_{split}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


@pytest.fixture()
def context(tmp_path):
    return AppContext(Workspace(), QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))


def make_tab(qtbot, context) -> ForgettingTab:
    tab = ForgettingTab(context)
    qtbot.addWidget(tab)
    tab.resize(1100, 560)
    tab.show()
    return tab


def test_real_check_shows_and_stores_the_result(qtbot, context, llama, tmp_path):
    make_run(context.workspace.runs_dir / "my-run", llama)
    mmlu = write_mmlu(tmp_path / "mmlu")
    tab = make_tab(qtbot, context)
    assert tab.run_combo.currentData().endswith("my-run") and "Base model:" in tab.base_label.text()
    assert tab.set_mmlu_folder(str(mmlu))
    assert [tab.subjects.item(r).text() for r in range(tab.subjects.count())] == ["astronomy", "virology"]
    assert context.settings.value(MMLU_SETTING) == str(mmlu)
    assert tab.builtin_radio.isChecked() and tab.stack.currentIndex() == 0  # the built-in check comes preselected
    tab.mmlu_radio.setChecked(True)
    tab.subjects.item(1).setCheckState(Qt.Unchecked)
    tab.shots.setValue(1)
    tab.mmlu_limit.setValue(3)

    task = tab.start_check()
    assert task is not None and not tab.run_button.isEnabled()
    with qtbot.waitSignal(task.worker.done, timeout=30000):
        pass
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=5000)
    assert tab.message.kind == "", tab.message.text()
    result = tab.result
    assert result is not None and [g["name"] for g in result["groups"]] == ["astronomy"]
    assert result["overall"]["n"] == 3 and result["check"]["shots"] == 1
    assert tab.headline.text() == result["summary"] and "(McNemar p " in result["summary"]
    assert tab.table.rowCount() == 1 and tab.table.item(0, 0).text() == "astronomy"
    assert tab.table.item(0, 1).text() == "3"
    assert tab.table.item(0, 2).text() == f"{100 * result['groups'][0]['base']:.1f}"
    assert tab.table.item(0, 4).text() == f"{100 * result['groups'][0]['delta']:+.1f}"
    assert len(tab.chart.items) == 3 and tab.chart.names == ["astronomy"]  # two bar sets + the chance line
    assert tab.run_button.isEnabled() and tab.chart.isVisible()

    # stored apart from the evaluations the page lists, listed here, and reopened by a fresh tab
    saved = forgetting_dir(context.workspace.evaluations_dir) / "forgetting-my-run-mmlu.json"
    assert saved.is_file() and context.workspace.list_evaluations() == []
    assert tab.stored_combo.currentData() == str(saved)
    again = make_tab(qtbot, context)
    assert again.mmlu_path.text() == str(mmlu) and again.subjects.count() == 2  # the folder was remembered
    assert again.open_result(again.stored_combo.currentData())
    assert again.headline.text() == result["summary"] and again.table.rowCount() == 1


def test_the_tab_follows_the_pages_run_and_is_reachable_without_an_evaluation(qtbot, context):
    for name in ("run-a", "run-b"):
        make_run(context.workspace.runs_dir / name)
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    assert (
        page.tabs.tabText(2) == "Forgetting" and page.tabs.widget(2).widget() is page.forgetting
    )  # inside its scroll area
    page.show()
    assert page.tabs.isVisible()
    setup_run = page.setup.run_combo.currentData()
    assert page.forgetting.run_combo.currentData() == setup_run
    other = next(i for i in range(1, page.setup.run_combo.count()) if page.setup.run_combo.itemData(i) != setup_run)
    page.setup.run_combo.setCurrentIndex(other)
    assert page.forgetting.run_combo.currentData() == page.setup.run_combo.itemData(other)


def test_expected_failures_are_inline(qtbot, context, tmp_path):
    tab = make_tab(qtbot, context)
    assert tab.start_check() is None and "Train page" in tab.message.text()
    make_run(context.workspace.runs_dir / "unfinished")  # run.json only, no adapter
    context.runs_changed.emit()
    tab.mmlu_radio.setChecked(True)
    assert tab.start_check() is None and "MMLU CSV" in tab.message.text()
    assert not tab.set_mmlu_folder(str(tmp_path / "nowhere")) and "does not exist" in tab.message.text()
    mmlu = write_mmlu(tmp_path / "mmlu")
    tab.set_mmlu_folder(str(mmlu))
    tab._check_all(Qt.Unchecked)
    assert tab.start_check() is None and "No subject ticked" in tab.message.text()
    tab._check_all(Qt.Checked)
    task = tab.start_check()
    with qtbot.waitSignal(task.worker.done, timeout=10000):
        pass
    assert tab.message.kind == "error" and "no saved adapter" in tab.message.text()
    tab.task_radio.setChecked(True)
    assert tab.stack.currentIndex() == 3
    assert tab.start_check() is None and "Data page" in tab.message.text()
    tab.show_result(
        {
            "summary": "s",
            "verdict": "forgetting",
            "metric": "accuracy",
            "metric_label": "accuracy",
            "chance": 0.25,
            "check": {"kind": "mmlu", "label": "MMLU", "shots": 0},
            "overall": {"base": 0.5, "tuned": 0.4, "delta": -0.1, "n": 30, "base_ci95": [0.2, 0.7]},
            "test": {"name": "McNemar", "p_value": 0.02, "only_base": 4, "only_tuned": 1},
            "groups": [
                {"name": n, "n": 10, "base": b, "tuned": t, "delta": t - b}
                for n, b, t in (("a", 0.5, 0.5), ("b", 0.2, 0.4), ("c", 0.8, 0.3))
            ],
        }
    )
    column = [tab.table.item(r, 4).text() for r in range(3)]
    assert column == ["-50.0", "+0.0", "+20.0"]  # biggest loss first, sorted by number, not text
    assert "1 only the fine-tuned" in tab.details.text() and "chance (25 %)" in tab.details.text()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert not tab.open_result(str(bad)) and "not readable JSON" in tab.message.text()


def test_cancel_saves_nothing(qtbot, context, tmp_path, monkeypatch):
    def slow(run, check, *, out_dir, state):  # noqa: ARG001
        while True:
            state.report(None, "Base: MMLU 0/8 questions")
            state.check_cancelled()
            time.sleep(0.01)

    monkeypatch.setattr(tab_module, "check_forgetting", slow)
    make_run(context.workspace.runs_dir / "r")
    tab = make_tab(qtbot, context)
    tab.set_mmlu_folder(str(write_mmlu(tmp_path / "mmlu")))
    tab.mmlu_radio.setChecked(True)
    task = tab.start_check()
    qtbot.waitUntil(lambda: "Base: MMLU" in tab.progress.label.text(), timeout=5000)
    tab.progress.cancel_button.click()
    with qtbot.waitSignal(task.worker.done, timeout=10000):
        pass
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=5000)
    assert tab.message.kind == "info" and "nothing was saved" in tab.message.text()
    assert tab.stored_combo.count() == 0 and tab.run_button.isEnabled()


def test_builtin_check_works_out_of_the_box_and_runs_compare_in_one_table(qtbot, context, llama):
    for name in ("single-task", "mixture"):
        make_run(context.workspace.runs_dir / name, llama)
    tab = make_tab(qtbot, context)
    assert tab.builtin_radio.isChecked() and "sample" in tab.builtin_combo.currentText().lower()
    tab.builtin_limit.setValue(10)
    results = []
    for name in ("single-task", "mixture"):
        tab.run_combo.setCurrentIndex(tab.run_combo.findData(str(context.workspace.runs_dir / name)))
        task = tab.start_check()
        assert task is not None
        with qtbot.waitSignal(task.worker.done, timeout=60000):
            pass
        qtbot.waitUntil(lambda: not tab.is_busy(), timeout=5000)
        assert tab.message.kind == "", tab.message.text()
        results.append(tab.result)
    result = tab.result
    assert result["check"]["kind"] == "classification" and result["overall"]["n"] == 10
    assert [tab.table.item(r, 0).text() for r in range(2)] and tab.table.horizontalHeaderItem(0).text() == "Class"
    low, high = result["overall"]["base_ci95"]
    assert f"[{100 * low:.1f}, {100 * high:.1f}]" in tab.details.text()  # the interval beside the number

    # both runs, checked on the same items, in one table: the one shown first
    assert tab.runs.isVisible() and tab.runs.rowCount() == 2
    assert tab.runs.item(0, 0).text().startswith("mixture") and tab.runs.item(1, 0).text().startswith("single-task")
    first = results[0]["overall"]
    assert tab.runs.item(1, 1).text().startswith(f"{100 * first['base']:.1f} [")
    assert tab.runs.item(1, 3).text().startswith(f"{100 * first['delta']:+.1f} [")
    assert tab.runs.item(1, 5).text() == results[0]["verdict"]

    tab.mmlu_radio.setChecked(True)  # a result on other items stands alone
    tab.show_result({**result, "check": {**result["check"], "limit": 5}, "path": None})
    assert not tab.runs.isVisible()


def test_classification_file_panel_offers_the_columns(qtbot, context, tmp_path, shared_data):
    make_run(context.workspace.runs_dir / "r")
    tab = make_tab(qtbot, context)
    tab.classification_radio.setChecked(True)
    assert tab.stack.currentIndex() == 1
    assert tab.start_check() is None and "labelled file" in tab.message.text()
    assert tab.set_classification_source(str(shared_data / "sst2" / "dev.tsv"))
    assert tab.text_column.currentText() == "sentence" and tab.label_column.currentText() == "label"
    tab.label_words.setText("negative, positive")
    check = tab.build_check()
    assert (check.source, check.labels, check.limit) == (
        str(shared_data / "sst2" / "dev.tsv"),
        ["negative", "positive"],
        200,
    )
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert not tab.set_classification_source(str(empty)) and "is empty" in tab.message.text()


def test_a_run_trained_on_the_sample_gets_the_multiple_choice_check(qtbot, context):
    run = make_run(context.workspace.runs_dir / "on-sample")
    record = json.loads((run / "run.json").read_text())
    record["data"] = {"manifest": {"source": "sample"}}
    (run / "run.json").write_text(json.dumps(record))
    tab = make_tab(qtbot, context)
    assert tab.builtin_combo.currentData() == "everyday-knowledge"  # the reviews were in its training data
    check = tab.build_check()
    assert check.kind == "mmlu" and check.label == "built-in everyday knowledge" and check.shots == 5


def test_the_tab_and_the_command_write_the_same_json_for_a_classification_file(qtbot, context, llama, tmp_path):
    from ift_desktop import cli

    run = make_run(context.workspace.runs_dir / "r", llama)
    data = tmp_path / "sst.tsv"
    rows = [f"a {'good' if i % 2 else 'bad'} film number {i}\t{i % 2}" for i in range(12)]
    data.write_text("sentence\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    tab = make_tab(qtbot, context)
    tab.classification_radio.setChecked(True)
    assert tab.set_classification_source(str(data))
    tab.label_words.setText("negative,positive")
    tab.cls_shots.setValue(2)
    tab.cls_limit.setValue(6)
    task = tab.start_check()
    assert task is not None
    with qtbot.waitSignal(task.worker.done, timeout=60000):
        pass
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=5000)
    assert tab.message.kind == "", tab.message.text()

    out = tmp_path / "cli.json"
    code = cli.main(
        [
            "forgetting",
            "--run",
            str(run),
            "--check",
            "classification",
            "--data",
            str(data),
            "--text-column",
            "sentence",
            "--label-column",
            "label",
            "--labels",
            "negative,positive",
            "--shots",
            "2",
            "--limit",
            "6",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    drop = ("created", "timings", "path", "base_result", "tuned_result")
    from_cli = json.loads(out.read_text(encoding="utf-8"))
    from_tab = json.loads(Path(tab.stored_combo.currentData()).read_text(encoding="utf-8"))
    assert from_cli["check"]["shots"] == 2 and from_cli["overall"]["n"] == 4  # the shots come from the 6 rows
    assert {k: v for k, v in from_cli.items() if k not in drop} == {k: v for k, v in from_tab.items() if k not in drop}
