"""Our ``score`` (ROUGE + BLEU + overlap alignment + bootstrap intervals) vs plain rouge_score + sacrebleu.

    .venv/bin/python benchmarks/score_speed.py [--n 500] [--repeats 3]

The pairs are the DialogSum test set: summary1 is scored as the prediction against summary2 and
summary3 as two references (real text, several references per example). Measured in one run:

- plain: ``RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True).score_multi``
  per example, ``sacrebleu.sentence_bleu`` per example and ``sacrebleu.corpus_bleu`` once: the
  numbers alone;
- ours: :func:`ift_desktop.core.evaluation.metrics.score`, with and without the bootstrap intervals;
  it also aligns the overlaps (tokens with character spans, clipped n-gram matches, the LCS) for
  every example, which the plain path does not do.

Checks that the numbers are identical, then prints the times and the ratios (ours / plain).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIALOGSUM = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.test.jsonl"
TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


def pairs(n: int) -> tuple[list[str], list[list[str]]]:
    rows = [json.loads(line) for line in DIALOGSUM.read_text(encoding="utf-8").splitlines()[:n]]
    return [r["summary1"] for r in rows], [[r["summary2"], r["summary3"]] for r in rows]


def plain(predictions, references):
    import sacrebleu
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(TYPES, use_stemmer=True)
    rouge = [scorer.score_multi(refs, pred) for pred, refs in zip(predictions, references)]
    sentence = [sacrebleu.sentence_bleu(pred, refs).score for pred, refs in zip(predictions, references)]
    streams = [[refs[i] for refs in references] for i in range(max(len(r) for r in references))]
    corpus = sacrebleu.corpus_bleu(predictions, streams)
    return rouge, sentence, corpus


def best_of(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), times, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="number of examples (DialogSum test has 500)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from ift_desktop.core.evaluation.metrics import score

    predictions, references = pairs(args.n)
    plain_s, plain_times, (rouge, sentence, corpus) = best_of(lambda: plain(predictions, references), args.repeats)
    ours_s, ours_times, ours = best_of(lambda: score(predictions, references, confidence=False), args.repeats)
    ci_s, ci_times, _ = best_of(lambda: score(predictions, references), args.repeats)

    for mine, theirs, bleu in zip(ours["examples"], rouge, sentence):
        for kind in TYPES:
            assert mine[kind]["fmeasure"] == theirs[kind].fmeasure, (kind, mine[kind], theirs[kind])
        assert mine["bleu"] == bleu
    assert ours["corpus"]["bleu"]["score"] == corpus.score
    print(f"{len(predictions)} DialogSum pairs (summary1 vs summary2+summary3), stemming on; numbers identical")
    print(f"plain rouge_score + sacrebleu:          best {plain_s:6.3f} s of {[round(t, 3) for t in plain_times]}")
    print(f"ours, score() with overlaps:            best {ours_s:6.3f} s of {[round(t, 3) for t in ours_times]}")
    print(f"ours, score() with overlaps + 95% CIs:  best {ci_s:6.3f} s of {[round(t, 3) for t in ci_times]}")
    print(
        f"ratio ours/plain: {ours_s / plain_s:.2f}x (with bootstrap CIs {ci_s / plain_s:.2f}x); "
        f"per example {1000 * ours_s / len(predictions):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
