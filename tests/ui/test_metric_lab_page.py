"""The Metric lab: typing rescores, presets are rouge_score's and sacrebleu's numbers, `score --json` agrees,
the explanation is the Examples tab's own, and an example of the Examples tab opens in the lab."""

from __future__ import annotations

import json

import pytest
import sacrebleu
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QTextCursor
from rouge_score import rouge_scorer
from test_evaluate_page import open_page, stored  # noqa: F401  (a fixture; tests/ui is on sys.path)

from ift_desktop import cli
from ift_desktop.core.evaluation.metric_lab import load_presets, score_candidate
from ift_desktop.core.evaluation.metrics import ROUGE_TYPES
from ift_desktop.core.workspace import Workspace
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.metric_lab import MetricLabPage
from ift_desktop.ui.widgets import score_explanation
from ift_desktop.ui.widgets.score_explanation import ExplanationPanel, HighlightPane, OverlapKindBar

PRESETS = load_presets()


@pytest.fixture()
def context(tmp_path):
    return AppContext(Workspace(), QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))


@pytest.fixture()
def lab(qtbot, context):
    page = MetricLabPage(context)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    wait_scored(qtbot, page)
    yield page
    page.shutdown()


def wait_scored(qtbot, page: MetricLabPage) -> None:
    qtbot.waitUntil(page.is_up_to_date, timeout=10000)


def rouge_cells(page: MetricLabPage) -> list[list[str]]:
    table = page.tables.rouge_table
    return [[table.item(r, c).text() for c in range(3)] for r in range(len(ROUGE_TYPES))]


def test_typing_into_the_lab_updates_the_scores(qtbot, lab):
    lab.editor.set_texts("", ["It is cold outside"])
    wait_scored(qtbot, lab)
    assert rouge_cells(lab)[0] == ["0.000", "0.000", "0.000"]
    assert "every score is 0" in lab.candidate_pane.view.placeholderText()
    qtbot.keyClicks(lab.editor.candidate, "it is cold")
    wait_scored(qtbot, lab)
    assert lab.scores.candidate == "it is cold"
    assert rouge_cells(lab)[0] == ["1.000", "0.750", "0.857"]  # 3 of 3 words, 3 of 4 reference words
    assert lab.candidate_pane.view.text() == "it is cold"
    assert len([s for s in lab.candidate_pane.view.drawn_spans() if s[2] == "match"]) == 3
    assert "P = 3/3 = 1.000" in lab.candidate_pane.numbers.text()
    assert "3 / 4 = 0.750" in lab.explanation.text()  # the worked explanation with the new numbers
    lab.editor.reference_box(0).moveCursor(QTextCursor.End)
    qtbot.keyClicks(lab.editor.reference_box(0), " today")
    wait_scored(qtbot, lab)
    assert rouge_cells(lab)[0] == ["1.000", "0.600", "0.750"]
    assert "ms" in lab.timing.text()


def test_stemming_switch_and_highlight_kind(qtbot, lab):
    lab.apply_preset("stemming")
    wait_scored(qtbot, lab)
    with_stems = rouge_cells(lab)[0][2]
    lab.stemming.setChecked(False)
    wait_scored(qtbot, lab)
    assert lab.scores.use_stemmer is False
    assert float(rouge_cells(lab)[0][2]) < float(with_stems)
    qtbot.mouseClick(lab.kind_bar.kind_buttons["bleu1"], Qt.LeftButton)
    assert lab.kind_bar.kind == "bleu1"
    assert "BLEU-1: word precision" in lab.explanation.text() and "Sentence BLEU" in lab.explanation.text()


def _assert_lab_equals_the_libraries(lab, preset, use_stemmer):
    example = lab.scores.example
    expected = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer).score_multi(
        list(preset.references), preset.candidate
    )
    for row, rouge_type in enumerate(ROUGE_TYPES):
        want = expected[rouge_type]
        assert (example[rouge_type]["precision"], example[rouge_type]["recall"], example[rouge_type]["fmeasure"]) == (
            want.precision,
            want.recall,
            want.fmeasure,
        )
        assert rouge_cells(lab)[row] == [f"{want.precision:.3f}", f"{want.recall:.3f}", f"{want.fmeasure:.3f}"]
    bleu = sacrebleu.sentence_bleu(preset.candidate, list(preset.references))
    assert example["bleu"] == bleu.score and example["bleu_detail"]["bp"] == bleu.bp
    shown = [lab.tables.bleu_table.item(0, c).text() for c in range(6)]
    assert shown == [f"{bleu.score:.1f}", *(f"{p:.1f}" for p in bleu.precisions), f"{bleu.bp:.3f}"]


@pytest.mark.parametrize("preset", PRESETS, ids=[p.key for p in PRESETS])
def test_every_preset_shows_rouge_score_and_sacrebleu_numbers(qtbot, lab, preset):
    lab.apply_preset(preset.key)
    wait_scored(qtbot, lab)
    assert lab.editor.candidate_text() == preset.candidate and tuple(lab.editor.references()) == preset.references
    assert lab.takeaway.text() == preset.takeaway and lab.kind_bar.kind == preset.highlight
    _assert_lab_equals_the_libraries(lab, preset, use_stemmer=True)


def test_several_references_show_the_best_and_each_alone(qtbot, lab):
    lab.apply_preset("references")
    wait_scored(qtbot, lab)
    assert lab.tables.best_reference() == 1
    assert "Best reference: 2" in lab.tables.best_note.text()
    assert lab.reference_pane.view.text() == lab.editor.references()[1]
    assert "★" in lab.editor.alone_text(1) and "★" not in lab.editor.alone_text(0)
    alone = score_candidate(lab.editor.candidate_text(), [lab.editor.references()[0]])
    assert f"BLEU {alone.example['bleu']:.1f}" in lab.editor.alone_text(0)
    lab.editor.remove_reference(1)
    wait_scored(qtbot, lab)
    assert lab.editor.alone_text(0) == "" and "One reference" in lab.tables.best_note.text()
    assert "You edited" in lab.takeaway.text()
    assert lab.scores.example["rougeL"]["fmeasure"] == alone.example["rougeL"]["fmeasure"]
    lab.preset_combo.activated.emit(lab.preset_combo.currentIndex())  # the user picks the same lesson again
    assert len(lab.editor.references()) == 2 and "You edited" not in lab.takeaway.text()


def test_text_that_rouge_erases_is_flagged(qtbot, lab):
    lab.editor.set_texts("Миша любит чай", ["Миша очень любит чай"])
    wait_scored(qtbot, lab)
    assert rouge_cells(lab)[0] == ["0.000", "0.000", "0.000"] and lab.scores.example["bleu"] > 0
    assert "erases most letters" in lab.message.text()
    lab.editor.set_texts("Mike loves tea", ["Mike really loves tea"])
    wait_scored(qtbot, lab)
    assert lab.message.text() == ""


def test_an_outdated_result_is_dropped(qtbot, lab):
    lab.editor.set_texts("new words", ["It is cold outside"])
    wait_scored(qtbot, lab)
    stale = score_candidate("old words", ["It is cold outside"])
    lab._on_scored(stale)
    assert lab.scores.candidate == "new words"


@pytest.mark.parametrize("stemmer", [True, False])
def test_the_lab_equals_score_json(qtbot, lab, tmp_path, capsys, monkeypatch, stemmer):
    monkeypatch.setattr(cli, "COMMANDS", {"score": cli.COMMANDS["score"]})
    candidate = "The cats were sitting on the mat.\nThen they left"
    references = ["A cat sat on the mat, then it left.", "The cats sat on a mat"]
    lab.stemming.setChecked(stemmer)
    lab.editor.set_texts(candidate, references)
    wait_scored(qtbot, lab)
    predictions = tmp_path / "p.txt"
    predictions.write_text(candidate.replace("\n", "\\n") + "\n", encoding="utf-8")
    argv = ["score", "--predictions", str(predictions), "--json"] + ([] if stemmer else ["--no-stemmer"])
    for k, reference in enumerate(references):
        path = tmp_path / f"r{k}.txt"
        path.write_text(reference + "\n", encoding="utf-8")
        argv += ["--references", str(path)]
    assert cli.main(argv) == 0
    printed = json.loads(capsys.readouterr().out)["examples"][0]
    assert json.loads(json.dumps(lab.scores.example)) == printed  # every number, the overlap, the best references


def test_the_lab_and_the_examples_tab_share_the_explanation(qtbot, context, stored, lab, monkeypatch):  # noqa: F811
    page = open_page(qtbot, context, stored["base"], stored["tuned"])
    page.examples.select_row(0)
    for widget_class, lab_widget, examples_widget in (
        (ExplanationPanel, lab.explanation, page.detail.explanation),
        (OverlapKindBar, lab.kind_bar, page.detail.kind_bar),
        (HighlightPane, lab.candidate_pane, page.detail.panes["tuned"]),
        (HighlightPane, lab.reference_pane, page.detail.reference),
    ):
        assert type(lab_widget) is widget_class and type(examples_widget) is widget_class
    calls = []
    original = score_explanation.explanation_html

    def spy(example, kind, side_label):
        calls.append((kind, side_label))
        return original(example, kind, side_label)

    monkeypatch.setattr(score_explanation, "explanation_html", spy)
    page.detail.set_kind("rouge2")
    lab.kind_bar.set_kind("rouge2")
    assert ("rouge2", "Fine-tuned prediction") in calls and ("rouge2", "Candidate") in calls
    # the same example scored both ways explains itself in the same words
    row = page.comparison.rows[0]
    lab.open_texts(row.prediction("tuned"), row.references)
    wait_scored(qtbot, lab)
    lab.kind_bar.set_kind("rougeL")
    page.detail.set_kind("rougeL")
    lab_lines = lab.explanation.text().splitlines()[1:]
    examples_lines = page.detail.explanation.text().splitlines()[1:]
    assert lab_lines == examples_lines and any("LCS" in line for line in lab_lines)


def test_open_in_metric_lab_from_an_example(qtbot, context, stored, lab):  # noqa: F811
    page = open_page(qtbot, context, stored["base"], stored["tuned"])
    page.examples.select_row(3)
    row = page.comparison.rows[3]
    with qtbot.waitSignal(context.navigate, timeout=3000) as navigated:
        qtbot.mouseClick(page.detail.open_in_lab, Qt.LeftButton)
    assert navigated.args == ["metric_lab"]
    assert lab.editor.candidate_text() == row.prediction("tuned")
    assert lab.editor.references() == row.references
    assert lab.preset_combo.currentText() == "Your own texts"
    wait_scored(qtbot, lab)
    assert lab.scores.example["rougeL"] == row.example("tuned")["rougeL"]
    page.detail.set_reference_side("base")
    qtbot.mouseClick(page.detail.open_in_lab, Qt.LeftButton)
    assert lab.editor.candidate_text() == row.prediction("base")


def test_help_menu_opens_the_lab(qtbot, context):
    from ift_desktop.ui.main_window import MainWindow

    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    action = next(a for a in help_menu.actions() if a.text().replace("&", "") == "What do these scores mean?")
    action.trigger()
    assert window.current_page_key() == "metric_lab"
    lab = window.pages["metric_lab"]
    wait_scored(qtbot, lab)
    assert lab.scores.example["rouge1"]["fmeasure"] > 0
    window.close()


def test_the_lab_fits_a_1024_by_700_window(lab):
    hint = lab.minimumSizeHint()  # beside the 184 px sidebar, under the menu and status bars
    assert hint.width() <= 1024 - 184 and hint.height() <= 700 - 70, hint
