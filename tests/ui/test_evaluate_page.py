"""The Evaluate page driven with stored evaluations scored in the test (no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from ift_desktop.core.atomic import atomic_write_json
from ift_desktop.core.errors import Cancelled
from ift_desktop.core.evaluation import pairing as jobs_module
from ift_desktop.core.evaluation.metrics import score
from ift_desktop.core.workspace import Workspace
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.evaluate import EvaluatePage
from ift_desktop.ui.pages.evaluate import page as page_module

REFERENCE = "It is cold outside"
BASE = ["cold cold cold cold", "It is cold outside", "", "The weather is nice."]
TUNED = ["outside cold it is", "It is very cold outside", "It is cold", "Outside it is cold."]


def evaluation_json(predictions, *, role, partner=None, run=None) -> dict:
    references = [[REFERENCE]] * len(predictions)
    scored = score(predictions, references)
    examples = [
        {"index": i, "prompt": f"Describe the weather ({i})", "prediction": p, "references": references[i], **e}
        for i, (p, e) in enumerate(zip(predictions, scored["examples"]))
    ]
    return {
        "kind": "evaluation",
        "model": "builtin",
        "run": run,
        "split": "test",
        "corpus": scored["corpus"],
        "warnings": scored["warnings"],
        "examples": examples,
        "comparison": {"id": "t", "role": role, "partner": partner},
    }


@pytest.fixture()
def context(tmp_path):
    return AppContext(Workspace(), QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))


@pytest.fixture()
def stored(context) -> dict[str, Path]:
    folder = context.workspace.evaluations_dir
    base = atomic_write_json(folder / "seed-base.json", evaluation_json(BASE, role="base", partner="seed-tuned"))
    tuned = atomic_write_json(
        folder / "seed-tuned.json", evaluation_json(TUNED, role="tuned", partner="seed-base", run="/runs/seed")
    )
    return {"base": base, "tuned": tuned}


def open_page(qtbot, context, base=None, tuned=None) -> EvaluatePage:
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    page.resize(1280, 800)
    page.show()
    page.open_evaluations(base, tuned)
    qtbot.waitUntil(lambda: page.comparison is not None and not page.is_busy(), timeout=10000)
    return page


def contract_spans(example, kind, side, n=1):
    family = "bleu" if kind.startswith("bleu") else "rouge"
    tokens = example["overlap"]["tokens"][family][side]
    covered = sorted({t for i in example["overlap"]["matches"][kind][side] for t in range(i, i + n)})
    return [tuple(tokens[t][1:3]) for t in covered]


def test_sorting_by_score_and_gain(qtbot, context, stored):
    page = open_page(qtbot, context, stored["base"], stored["tuned"])
    panel = page.examples
    panel.set_metric("rouge1")
    rows = page.comparison.rows
    panel.sort_by("gain", Qt.DescendingOrder)
    gains = [rows[r].gain("rouge1") for r in panel.visible_rows()]
    assert gains == sorted(gains, reverse=True) and len(gains) == 4
    panel.sort_by("tuned", Qt.AscendingOrder)
    tuned = [rows[r].score("tuned", "rouge1") for r in panel.visible_rows()]
    assert tuned == sorted(tuned)
    panel.set_metric("bleu")  # switching the metric re-sorts by the new numbers
    bleu = [rows[r].score("tuned", "bleu") for r in panel.visible_rows()]
    assert bleu == sorted(bleu)
    assert panel.model.headerData(6, Qt.Horizontal) == "Gain"
    index = panel.proxy.index(0, 6)
    assert panel.proxy.data(index) == f"{rows[panel.visible_rows()[0]].gain('bleu'):+.1f}"


def test_regression_filter_and_search(qtbot, context, stored):
    page = open_page(qtbot, context, stored["base"], stored["tuned"])
    panel = page.examples
    panel.set_metric("rougeL")
    panel.regressions.setChecked(True)
    rows = page.comparison.rows
    shown = panel.visible_rows()
    assert shown == [1]  # "It is very cold outside" scores below the exact copy
    assert all(rows[r].gain("rougeL") < 0 for r in shown)
    assert "1 of 4" in panel.count_label.text()
    panel.regressions.setChecked(False)
    panel.search.setText("weather is nice")
    assert panel.visible_rows() == [3]
    panel.search.clear()
    assert len(panel.visible_rows()) == 4


def test_overlap_toggle_draws_the_contract_spans(qtbot, context, stored):
    page = open_page(qtbot, context, stored["base"], stored["tuned"])
    page.examples.select_row(0)
    detail = page.detail
    base_example = page.comparison.rows[0].example("base")
    tuned_example = page.comparison.rows[0].example("tuned")
    base_view, tuned_view = detail.panes["base"].view, detail.panes["tuned"].view
    assert base_view.text() == "cold cold cold cold" and detail.reference.view.text() == REFERENCE

    # ROUGE-1: one "cold" counted, the three repeats clipped
    assert detail.kind == "rouge1"
    drawn = base_view.drawn_spans()
    assert [(s, e) for s, e, c in drawn if c == "match"] == contract_spans(base_example, "rouge1", "prediction")
    assert drawn == [(0, 4, "match"), (5, 9, "other"), (10, 14, "other"), (15, 19, "other")]
    assert "4× in the prediction, 1× in the reference; 1 counted" in base_view.tooltip_at(1)
    assert base_view.tooltip_at(4) == ""  # the space between tokens
    assert [(s, e) for s, e, c in tuned_view.drawn_spans() if c == "match"] == contract_spans(
        tuned_example, "rouge1", "prediction"
    )
    assert "4 words matched" in detail.panes["tuned"].numbers.text()
    assert "P = 1/4 = 0.250" in detail.panes["base"].numbers.text()

    # the toggle: ROUGE-2 has no bigram of "outside cold it is" but "it is"
    qtbot.mouseClick(detail.kind_buttons["rouge2"], Qt.LeftButton)
    assert detail.kind == "rouge2"
    assert base_view.drawn_spans() == []
    assert (
        [(s, e) for s, e, c in tuned_view.drawn_spans() if c == "match"]
        == contract_spans(tuned_example, "rouge2", "prediction", n=2)
        == [(13, 15), (16, 18)]
    )

    # ROUGE-L: the LCS rouge_score picks
    qtbot.mouseClick(detail.kind_buttons["rougeL"], Qt.LeftButton)
    assert [(s, e) for s, e, c in tuned_view.drawn_spans() if c == "match"] == contract_spans(
        tuned_example, "rougeL", "prediction"
    )
    assert "LCS" in detail.legend.entries()[0][1]
    assert "longest common subsequence" in detail.explain.toPlainText()
    assert "2 / 4 = 0.500" in detail.explain.toPlainText()  # the example's own numbers

    # BLEU-1 is case-sensitive: "it" is not matched against "It"
    detail.set_kind("bleu1")
    text = tuned_view.text()
    assert [text[s:e] for s, e, c in tuned_view.drawn_spans() if c == "match"] == ["outside", "cold", "is"]

    # the reference shows the matches of the side chosen
    detail.set_kind("rouge1")
    detail.set_reference_side("base")
    assert detail.reference.view.drawn_spans() == [(6, 10, "match")]
    detail.set_reference_side("tuned")
    assert [(s, e) for s, e, _c in detail.reference.view.drawn_spans()] == contract_spans(
        tuned_example, "rouge1", "reference"
    )


def test_empty_prediction_is_shown_with_zero(qtbot, context, stored):
    page = open_page(qtbot, context, stored["base"], stored["tuned"])
    page.examples.set_metric("rougeL")
    model = page.examples.model
    assert model.data(model.index(2, 2)) == "(empty)"
    assert model.data(model.index(2, 4)) == "0.000"
    page.examples.select_row(2)
    view = page.detail.panes["base"].view
    assert view.text() == "" and "every score is 0" in view.placeholderText()
    assert view.drawn_spans() == []


def test_summary_cards_chart_and_paired_test(qtbot, context, stored):
    page = open_page(qtbot, context, stored["base"], stored["tuned"])
    qtbot.waitUntil(lambda: page.summary_stats is not None, timeout=20000)
    comparison = page.comparison
    card = page.summary.cards["rougeL"]
    assert card.value.text() == f"{comparison.corpus('tuned', 'rougeL'):.3f}"
    notes = page.summary.notes_text()
    assert "p = " in notes and "nrefs:1|case:mixed" in notes and "Warnings" in notes  # one empty prediction
    heights = page.summary.chart.bars["tuned"].opts["height"]
    assert heights[0] == pytest.approx(100 * comparison.corpus("tuned", "rouge1"))
    assert set(page.summary.chart.errors) == {"base", "tuned"}


def test_one_side_only(qtbot, context, stored):
    page = open_page(qtbot, context, None, stored["tuned"])
    assert page.comparison.sides == ["tuned"]
    assert page.detail.panes["base"].isHidden() and not page.detail.panes["tuned"].isHidden()
    assert not page.examples.regressions.isEnabled()
    assert page.examples.table.isColumnHidden(6)
    page.examples.select_row(0)
    assert page.detail.panes["tuned"].view.drawn_spans()


def test_exports(qtbot, context, stored, tmp_path):
    page = open_page(qtbot, context, stored["base"], stored["tuned"])
    for name in ("out.csv", "out.html"):
        page.export_to(tmp_path / name)
        qtbot.waitUntil(lambda: not page.is_busy(), timeout=10000)
        assert (tmp_path / name).stat().st_size > 500
    assert "seed" in (tmp_path / "out.html").read_text(encoding="utf-8")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").count("\n") == 5


def test_bad_file_shows_inline_error(qtbot, context, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rows": []}), encoding="utf-8")
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    page.open_evaluations(bad, None)
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=10000)
    assert page.message.kind == "error" and "not an evaluation" in page.message.text()
    assert page.comparison is None


def test_stored_list_pairs_partners_and_opens_newest(qtbot, context, stored):
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    setup = page.setup
    setup.stored_base.setCurrentIndex(setup.stored_base.findData(str(stored["base"])))
    assert setup.stored_tuned.currentData() == str(stored["tuned"])
    page.on_shown()
    qtbot.waitUntil(lambda: page.comparison is not None and not page.is_busy(), timeout=10000)
    assert page.comparison.sides == ["base", "tuned"]


def test_run_writes_linked_evaluations_and_opens_them(qtbot, context, monkeypatch):
    calls = []

    def fake_evaluate(*, model, data_dir, split, limit, max_new_tokens, state=None):
        calls.append((model.source, split, limit, max_new_tokens))
        state.report(0.5, "Generating")
        return evaluation_json(TUNED if model.source == "run" else BASE, role="x")

    monkeypatch.setattr("ift_desktop.core.evaluation.evaluate.evaluate", fake_evaluate)
    run_dir = context.workspace.runs_dir / "my-run"
    (run_dir / "adapter").mkdir(parents=True)
    (run_dir / "run.json").write_text(
        json.dumps({"model": {"source": "builtin", "name_or_path": "builtin"}, "status": "finished"}), encoding="utf-8"
    )
    data_dir = context.workspace.datasets_dir / "weather"
    data_dir.mkdir(parents=True)
    (data_dir / "manifest.json").write_text(json.dumps({"counts": {"test": 4}}), encoding="utf-8")
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    page.setup.refresh_runs()
    page.setup.refresh_datasets()
    assert page.setup.jobs() == [("base", "builtin"), ("tuned", str(run_dir))]
    page.setup.limit.setValue(4)
    with qtbot.waitSignal(context.evaluations_changed, timeout=10000):
        assert page.start_evaluation() is not None, page.message.text()
        qtbot.waitUntil(lambda: not page.is_busy(), timeout=10000)
        assert page.message.kind == "", page.message.text()
    qtbot.waitUntil(lambda: page.comparison is not None and not page.is_busy(), timeout=10000)
    assert [c[0] for c in calls] == ["builtin", "run"] and calls[0][1:] == ("test", 4, 64)
    names = sorted(p.name for p in context.workspace.evaluations_dir.glob("*.json"))
    assert names == ["my-run-weather-test-base.json", "my-run-weather-test-tuned.json"]
    tuned = json.loads((context.workspace.evaluations_dir / names[1]).read_text(encoding="utf-8"))
    assert tuned["comparison"]["role"] == "tuned" and tuned["comparison"]["partner"] == "my-run-weather-test-base"
    assert page.comparison.rows[0].prediction("tuned") == TUNED[0]


def test_cancel_stops_the_run(qtbot, context, tmp_path):
    def slow(*, state, **_kwargs):
        while True:
            state.report(None, "working")
            state.check_cancelled()
            import time

            time.sleep(0.01)

    page = EvaluatePage(context)
    qtbot.addWidget(page)
    page.runner.start(slow, progress_text="Evaluating", on_done=lambda _r: None)
    assert page.is_busy() and not page.setup.run_button.isEnabled()
    page.progress.cancel_button.click()
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=10000)
    assert page.message.kind == "info" and "Cancelled" in page.message.text()
    assert page.setup.run_button.isEnabled()


def test_cancelling_the_second_model_keeps_the_first_file(tmp_path, monkeypatch):
    from ift_desktop.core.progress import TaskState

    state = TaskState()

    def fake_evaluate(*, model, state=None, **_kwargs):
        if model.source == "run":
            state.cancel()
            state.check_cancelled()
        return evaluation_json(BASE, role="x")

    monkeypatch.setattr("ift_desktop.core.evaluation.evaluate.evaluate", fake_evaluate)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text("{}", encoding="utf-8")
    paths = {"base": tmp_path / "e-base.json", "tuned": tmp_path / "e-tuned.json"}
    with pytest.raises(Cancelled):
        jobs_module.run_evaluations(
            jobs=[("base", "builtin"), ("tuned", str(run_dir))],
            data_dir=str(tmp_path),
            split="test",
            limit=None,
            max_new_tokens=8,
            paths=paths,
            state=state,
        )
    assert json.loads(paths["base"].read_text(encoding="utf-8"))["comparison"]["partner"] == "e-tuned"
    assert not paths["tuned"].exists()
    assert page_module.run_evaluations is jobs_module.run_evaluations


def test_hovering_a_token_shows_its_ngram_and_counts(qtbot, context, stored):
    from PySide6.QtCore import QEvent, QPoint
    from PySide6.QtGui import QHelpEvent, QTextCursor
    from PySide6.QtWidgets import QApplication, QToolTip

    page = open_page(qtbot, context, stored["base"], stored["tuned"])
    page.tabs.setCurrentIndex(1)
    page.examples.select_row(0)
    view = page.detail.panes["base"].view
    qtbot.waitExposed(view)
    cursor = QTextCursor(view.document())
    cursor.setPosition(6)  # inside the second "cold", a clipped repeat
    rect = view.cursorRect(cursor)
    point = QPoint(rect.x() + 2, rect.center().y())
    event = QHelpEvent(QEvent.ToolTip, point, view.viewport().mapToGlobal(point))
    QApplication.sendEvent(view.viewport(), event)
    assert "this one not counted (clipped)" in QToolTip.text()
    assert view._index_at(point) == 6


def test_highlight_view_keeps_python_positions_past_emoji_and_crlf(qtbot):
    from ift_desktop.core.evaluation.report_highlights import HighlightSpan
    from ift_desktop.ui.widgets.highlight_view import HighlightView

    view = HighlightView()
    qtbot.addWidget(view)
    text = "😀 cold\r\nit is 😀 cold"
    starts = [i for i in range(len(text)) if text.startswith("cold", i)]
    spans = [HighlightSpan(s, s + 4, "match", k, f"tip {k}") for k, s in enumerate(starts)]
    view.set_content(text, spans, {"match": "#9fe0b0"})
    assert view.drawn_spans() == [(s, s + 4, "match") for s in starts]
    assert view.tooltip_at(starts[1] + 2) == "tip 1" and view.tooltip_at(0) == ""
    view.set_content("plain text", [], {})
    assert view.drawn_spans() == []  # nothing of the previous colours is left


def test_cli_evaluations_pair_by_dataset_split_and_size(qtbot, context):
    folder = context.workspace.evaluations_dir
    data = {"dir": "/data/weather", "split": "test", "n_examples": 4}
    base = evaluation_json(BASE, role="base")
    tuned = evaluation_json(TUNED, role="tuned", run="/runs/r")
    for record in (base, tuned):
        del record["comparison"]  # as `ift-desktop evaluate` writes it
        record["data"] = data
    atomic_write_json(folder / "cli-base.json", base)
    other = evaluation_json(TUNED[:2], role="tuned", run="/runs/r")
    del other["comparison"]
    other["data"] = {**data, "n_examples": 2}
    atomic_write_json(folder / "cli-other.json", other)
    atomic_write_json(folder / "cli-tuned.json", tuned)
    import os

    for age, name in enumerate(("cli-tuned", "cli-other", "cli-base")):  # cli-tuned is the newest
        os.utime(folder / f"{name}.json", (1_700_000_000 - age * 60, 1_700_000_000 - age * 60))
    page = EvaluatePage(context)
    qtbot.addWidget(page)
    base_path, tuned_path = page.setup.latest_pair()
    assert (Path(base_path).name, Path(tuned_path).name) == ("cli-base.json", "cli-tuned.json")
