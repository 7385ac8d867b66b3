"""The Metric lab's core: its presets teach what they say, and its numbers are rouge_score's and sacrebleu's."""

from __future__ import annotations

import random
import time

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from ift_desktop.core.errors import EvaluationError
from ift_desktop.core.evaluation.metric_lab import LabScores, load_presets, score_candidate
from ift_desktop.core.evaluation.metrics import ROUGE_TYPES

PRESETS = load_presets()


def test_the_lessons_of_the_issue_are_there_with_their_texts():
    by_key = {p.key: p for p in PRESETS}
    assert {"paraphrase", "negation", "repetition", "word-order", "short", "references"} <= set(by_key)
    assert by_key["paraphrase"].references == ("Mike really loves drinking tea",)
    assert by_key["paraphrase"].candidate == "Mike adores sipping tea"
    assert (by_key["negation"].references, by_key["negation"].candidate) == (
        ("Mike does not drink coffee",),
        "Mike does drink coffee",
    )
    assert (by_key["repetition"].references, by_key["repetition"].candidate) == (
        ("It is cold outside",),
        "cold cold cold cold",
    )
    assert by_key["word-order"].candidate == "outside cold it is"
    assert len(by_key["references"].references) > 1
    for preset in PRESETS:  # one sentence for a non-programmer, no line breaks left from the YAML
        assert preset.takeaway.endswith(".") and "\n" not in preset.takeaway and len(preset.takeaway) < 320


@pytest.mark.parametrize("use_stemmer", [True, False])
@pytest.mark.parametrize("preset", PRESETS, ids=[p.key for p in PRESETS])
def test_every_preset_equals_rouge_score_and_sacrebleu(preset, use_stemmer):
    scores = score_candidate(preset.candidate, preset.references, use_stemmer=use_stemmer)
    example = scores.example
    expected = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer).score_multi(
        list(preset.references), preset.candidate
    )
    for rouge_type in ROUGE_TYPES:
        assert example[rouge_type] == {
            "precision": expected[rouge_type].precision,
            "recall": expected[rouge_type].recall,
            "fmeasure": expected[rouge_type].fmeasure,
        }
    bleu = sacrebleu.sentence_bleu(preset.candidate, list(preset.references))
    assert example["bleu"] == bleu.score
    assert example["bleu_detail"]["precisions"] == list(bleu.precisions)
    assert example["bleu_detail"]["bp"] == bleu.bp
    assert (example["bleu_detail"]["sys_len"], example["bleu_detail"]["ref_len"]) == (bleu.sys_len, bleu.ref_len)
    if len(preset.references) > 1:
        for reference, alone in zip(preset.references, scores.per_reference):
            single = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer).score(
                reference, preset.candidate
            )
            assert alone["rougeL"]["fmeasure"] == single["rougeL"].fmeasure
            assert alone["bleu"] == sacrebleu.sentence_bleu(preset.candidate, [reference]).score
    else:
        assert scores.per_reference == ()


def test_the_presets_show_what_their_takeaways_claim():
    by_key = {p.key: score_candidate(p.candidate, p.references) for p in PRESETS}
    order = by_key["word-order"].example
    assert order["rouge1"]["fmeasure"] == 1.0 and order["rouge2"]["fmeasure"] < 0.5 and order["rougeL"]["fmeasure"] < 1
    assert by_key["repetition"].example["rouge1"]["precision"] == 0.25  # clipped to one "cold"
    short = by_key["short"].example
    assert short["bleu_detail"]["precisions"] == [100.0] * 4 and short["bleu_detail"]["bp"] < 0.5
    assert short["rouge1"]["recall"] < 0.5
    assert by_key["negation"].example["rouge1"]["fmeasure"] > 0.8
    several = by_key["references"]
    assert several.best_alone() == {"rouge1": 1, "rougeL": 1, "bleu": 1}
    assert several.example["rougeL"]["fmeasure"] > several.per_reference[0]["rougeL"]["fmeasure"]
    stemming = next(p for p in PRESETS if p.key == "stemming")
    on = score_candidate(stemming.candidate, stemming.references, use_stemmer=True).example
    off = score_candidate(stemming.candidate, stemming.references, use_stemmer=False).example
    assert on["rouge1"]["fmeasure"] > off["rouge1"]["fmeasure"] and on["bleu"] == off["bleu"]


def test_a_broken_presets_file_is_a_user_error(tmp_path):
    path = tmp_path / "presets.yaml"
    path.write_text("presets:\n  - key: a\n    title: A\n    candidate: x\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="lacks references, takeaway"):
        load_presets(path)
    path.write_text(
        "presets:\n  - {key: a, title: A, references: [r], candidate: x, takeaway: t, highlight: bleu9}\n",
        encoding="utf-8",
    )
    with pytest.raises(EvaluationError, match="highlight 'bleu9'"):
        load_presets(path)
    with pytest.raises(EvaluationError, match="could not be read"):
        load_presets(tmp_path / "missing.yaml")


def test_no_reference_is_a_user_error():
    with pytest.raises(EvaluationError, match="at least one reference"):
        score_candidate("a text", [])


def _words(rng: random.Random, count: int) -> str:
    vocabulary = (
        "the meeting was moved to friday because manager is ill and everyone agreed that weather "
        "reports sounded wrong while people kept talking about news sports music"
    ).split()
    sentences, words = [], []
    for k in range(count):
        words.append(rng.choice(vocabulary))
        if k % 15 == 14:
            sentences.append(" ".join(words).capitalize() + ".")
            words = []
    return "\n".join(sentences + ([" ".join(words)] if words else []))


def test_texts_of_a_few_hundred_words_score_fast():
    """The lab scores on every pause in typing; 300-word texts must stay interactive (target: < 50 ms).

    CPU time of this process, so other work on a shared machine does not fail it; the bound is twice
    the target, and it fails with rouge_score's pure-Python LCS tables (benchmarks/metric_lab_speed.py).
    """
    rng = random.Random(7)
    candidate, references = _words(rng, 300), [_words(rng, 300)]
    score_candidate(candidate, references)  # warm caches (stemmer, imports)
    timings = []
    for _ in range(5):
        started = time.process_time()
        result = score_candidate(candidate, references)
        timings.append(time.process_time() - started)
    assert isinstance(result, LabScores) and len(result.example["overlap"]["tokens"]["rouge"]["prediction"]) == 300
    assert sorted(timings)[2] < 0.1, f"median {sorted(timings)[2] * 1000:.0f} ms CPU for 300-word texts"
