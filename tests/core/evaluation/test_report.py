"""The comparison behind the Evaluate page and its exports: pairing, gains, highlight spans, CSV, HTML."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from ift_desktop.core.errors import EvaluationError
from ift_desktop.core.evaluation.metrics import score
from ift_desktop.core.evaluation.report import Comparison, Evaluation, load_evaluation, summarize
from ift_desktop.core.evaluation.report_export import comparison_csv, comparison_html, export_csv, export_html
from ift_desktop.core.evaluation.report_highlights import overlap_spans

REFERENCE = "It is cold outside"


def make_evaluation(name, predictions, references, *, prompts=None, run=None) -> Evaluation:
    scored = score(predictions, references, confidence=False)
    prompts = prompts or [f"prompt {i}" for i in range(len(predictions))]
    examples = [
        {"prompt": prompts[i], "prediction": p, "references": references[i], **e}
        for i, (p, e) in enumerate(zip(predictions, scored["examples"]))
    ]
    data = {"model": "builtin", "run": run, "split": "test", "corpus": scored["corpus"], "examples": examples}
    return Evaluation(name, data)


@pytest.fixture()
def seed() -> Comparison:
    refs = [[REFERENCE], [REFERENCE], [REFERENCE]]
    base = make_evaluation("base", ["cold cold cold cold", "It is cold outside", ""], refs)
    tuned = make_evaluation("tuned", ["outside cold it is", "It is very cold outside", "It is cold"], refs, run="/r/x")
    return Comparison(base, tuned)


def test_rows_scores_and_gains(seed):
    row = seed.rows[0]
    assert row.score("base", "rouge1") == pytest.approx(0.25)
    assert row.score("tuned", "rouge1") == pytest.approx(1.0)
    assert row.gain("rouge1") == pytest.approx(0.75)
    assert seed.rows[1].gain("rougeL") < 0  # a regression
    empty = seed.rows[2]
    assert (
        empty.prediction("base") == "" and empty.score("base", "rougeL") == 0.0 and empty.score("base", "bleu") == 0.0
    )
    assert seed.sides == ["base", "tuned"]
    assert "tok:13a" in seed.bleu_signature()


def test_rouge1_spans_are_the_contract_tokens_with_clipping(seed):
    example = seed.rows[0].example("base")
    tokens = example["overlap"]["tokens"]["rouge"]["prediction"]
    spans = overlap_spans(example, "rouge1", "prediction")
    matched = [s for s in spans if s.category == "match"]
    # rouge_score counts "cold" once (the reference has one): exactly the contract's matched position.
    assert [(s.start, s.end) for s in matched] == [
        tuple(tokens[i][1:3]) for i in example["overlap"]["matches"]["rouge1"]["prediction"]
    ]
    assert len(matched) == 1
    clipped = [s for s in spans if s.category == "other"]
    assert len(clipped) == 3 and all("not counted" in s.tooltip for s in clipped)
    assert "4× in the prediction, 1× in the reference; 1 counted" in matched[0].tooltip
    ref_spans = overlap_spans(example, "rouge1", "reference")
    assert [(s.start, s.end, s.category) for s in ref_spans] == [(6, 10, "match")]
    assert REFERENCE[6:10] == "cold"


def test_rouge2_spans_cover_each_matched_bigram(seed):
    example = seed.rows[1].example("tuned")  # "It is very cold outside" vs "It is cold outside"
    spans = overlap_spans(example, "rouge2", "prediction")
    text = example["prediction"]
    assert [text[s.start : s.end] for s in spans if s.category == "match"] == ["It", "is", "cold", "outside"]
    assert example["rouge2"]["precision"] == pytest.approx(2 / 4)


def test_lcs_spans_are_rouge_scores_lcs(seed):
    example = seed.rows[0].example("tuned")  # "outside cold it is": LCS with the reference = "it is"
    tokens = example["overlap"]["tokens"]["rouge"]["prediction"]
    spans = overlap_spans(example, "rougeL", "prediction")
    lcs = sorted(example["overlap"]["matches"]["rougeL"]["prediction"])
    assert [s.token for s in spans if s.category == "match"] == lcs
    assert len(lcs) == 2 and example["rougeL"]["fmeasure"] == pytest.approx(0.5)
    assert all((s.start, s.end) == tuple(tokens[s.token][1:3]) for s in spans)


def test_bleu_spans_are_case_sensitive(seed):
    example = seed.rows[0].example("tuned")
    text = example["prediction"]
    matched = [text[s.start : s.end] for s in overlap_spans(example, "bleu1", "prediction") if s.category == "match"]
    assert matched == ["outside", "cold", "is"]  # "it" is not "It" for sacrebleu


def test_mismatched_evaluations_are_refused():
    refs = [[REFERENCE], [REFERENCE]]
    a = make_evaluation("a", ["x", "y"], refs)
    b = make_evaluation("b", ["x"], refs[:1])
    with pytest.raises(EvaluationError, match="same split"):
        Comparison(a, b)
    c = make_evaluation("c", ["x", "y"], refs, prompts=["other", "prompt 1"])
    with pytest.raises(EvaluationError, match="different prompts"):
        Comparison(a, c)
    with pytest.raises(EvaluationError):
        Comparison(None, None)


def test_one_side_only():
    comparison = Comparison(None, make_evaluation("t", ["cold"], [[REFERENCE]], run="/r"))
    assert comparison.sides == ["tuned"]
    assert comparison.rows[0].gain("rouge1") is None
    assert comparison.rows[0].score("base", "rouge1") is None
    text = comparison_csv(comparison)
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["base_rouge1"] == "" and float(row["tuned_rouge1"]) == pytest.approx(0.4)


def test_csv_has_every_example_and_metric(seed, tmp_path):
    path = export_csv(seed, tmp_path / "out.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(rows) == 3
    assert json.loads(rows[0]["references"]) == [REFERENCE]
    assert float(rows[0]["gain_rouge1"]) == pytest.approx(0.75)
    assert rows[2]["base_prediction"] == "" and float(rows[2]["base_bleu"]) == 0.0


def test_html_report_is_self_contained_with_highlights(seed, tmp_path):
    summary = summarize(seed)
    path = export_html(seed, tmp_path / "report.html", summary=summary)
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert not re.search(r"<(script|link|img)\b", page) and "http" not in page.split("<body>")[1]
    # the seed's counted "cold" is marked, with its counts as a tooltip, for ROUGE-1
    assert 'class="hl rougeN-match" title="“cold”: 4× in the prediction, 1× in the reference; 1 counted' in page
    assert "(empty prediction — scores 0)" in page
    assert summary["rouge1"]["test"] in page
    assert "nrefs:1|case:mixed" in page
    assert comparison_html(seed).count("class='example'") == 3


def test_summary_has_intervals_and_paired_test(seed):
    summary = summarize(seed)
    for metric in ("rouge1", "rouge2", "rougeL", "rougeLsum", "bleu"):
        base = summary[metric]["base"]
        assert base["low"] <= base["value"] <= base["high"]
        assert summary[metric]["paired"]["delta"] == pytest.approx(
            seed.corpus("tuned", metric) - seed.corpus("base", metric)
        )
        assert "p = " in summary[metric]["test"]


def test_load_evaluation_errors(tmp_path):
    with pytest.raises(EvaluationError, match="does not exist"):
        load_evaluation(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(EvaluationError, match="could not be read"):
        load_evaluation(bad)
    other = tmp_path / "other.json"
    other.write_text('{"rows": []}', encoding="utf-8")
    with pytest.raises(EvaluationError, match="not an evaluation"):
        load_evaluation(other)


def test_best_reference_is_the_one_the_overlap_points_into():
    refs = [["The sky is blue today", REFERENCE]]
    evaluation = make_evaluation("m", ["cold outside"], refs)
    row = Comparison(evaluation, None).rows[0]
    index, text = row.reference_for("base")
    assert (index, text) == (1, REFERENCE)
    spans = overlap_spans(row.example("base"), "rouge1", "reference")
    assert [text[s.start : s.end] for s in spans] == ["cold", "outside"]
