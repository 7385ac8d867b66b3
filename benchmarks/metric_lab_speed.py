"""How long one Metric lab update takes: ``score_candidate`` on texts of 100 to 500 words, numpy LCS vs rouge_score's.

    .venv/bin/python benchmarks/metric_lab_speed.py [--words 100 200 300 500] [--repeats 7]

The texts are real: DialogSum test dialogues (one turn per line, so ROUGE-Lsum sees sentences), cut
to the given number of words; the candidate is one dialogue, the reference another. One update of
the lab is :func:`ift_desktop.core.evaluation.metric_lab.score_candidate` (``score`` with the overlap
alignment, no bootstrap). Two sides, alternating in one process:

- ours: as shipped (:mod:`ift_desktop.core.evaluation.lcs`: the LCS table by numpy rows, ROUGE-L's
  length bit-parallel);
- rouge_score LCS: the same call with rouge_score's own ``RougeScorer`` and its pure-Python
  ``_lcs_table`` for the highlighted LCS (what ``score`` did before).

Checks that both give identical examples, then prints every repetition, the medians (wall and CPU
time of this process) and the ratio. Then the other half of an update, on the UI thread: the lab page
(offscreen Qt) showing that result — tables, both highlighted texts, the explanation, one paint —
for the ROUGE-1, ROUGE-L and BLEU-2 highlights.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIALOGSUM = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.test.jsonl"
sys.path.insert(0, str(REPO))


def dialogue_words(count: int, skip: int) -> str:
    """Dialogues from the ``skip``-th on, joined line by line until ``count`` words."""
    lines, total = [], 0
    for row in DIALOGSUM.read_text(encoding="utf-8").splitlines()[skip:]:
        for line in json.loads(row)["dialogue"].splitlines():
            words = line.split()[: count - total]
            if words:
                lines.append(" ".join(words))
                total += len(words)
            if total >= count:
                return "\n".join(lines)
    raise SystemExit(f"{DIALOGSUM} has fewer than {count} words after dialogue {skip}")


@contextmanager
def rouge_score_lcs():
    """``score`` as it was: rouge_score's RougeScorer and its Python LCS table for the overlap."""
    from rouge_score import rouge_scorer

    from ift_desktop.core.evaluation import metrics, overlap

    saved = metrics.rouge_scorer_for, overlap.lcs_table
    metrics.rouge_scorer_for = lambda use_stemmer=True, tokenizer="default": rouge_scorer.RougeScorer(
        list(metrics.ROUGE_TYPES), tokenizer=overlap.make_tokenizer(tokenizer, use_stemmer)
    )
    overlap.lcs_table = rouge_scorer._lcs_table
    try:
        yield
    finally:
        metrics.rouge_scorer_for, overlap.lcs_table = saved


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, nargs="+", default=[100, 200, 300, 500])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    from ift_desktop.core.evaluation.metric_lab import score_candidate

    print("one Metric lab update = score_candidate(candidate, [reference]), stemming on; DialogSum test dialogues")
    for count in args.words:
        candidate, reference = dialogue_words(count, 0), dialogue_words(count, 40)
        ours_run = lambda: score_candidate(candidate, [reference])  # noqa: E731
        score_candidate(candidate, [reference])  # warm the stemmer cache and imports
        ours, before = [], []
        for _ in range(args.repeats):
            ours.append(timed(ours_run))
            with rouge_score_lcs():
                before.append(timed(ours_run))
        assert all(o[2].example == b[2].example for o, b in zip(ours, before)), "the two sides disagree"
        for label, runs in (("ours", ours), ("rouge_score LCS", before)):
            walls = [round(1000 * r[0], 1) for r in runs]
            print(
                f"{count:4d} words  {label:16s} median wall {1000 * statistics.median(r[0] for r in runs):7.1f} ms, "
                f"CPU {1000 * statistics.median(r[1] for r in runs):7.1f} ms   walls {walls}"
            )
        ratio = statistics.median(r[0] for r in before) / statistics.median(r[0] for r in ours)
        print(f"{count:4d} words  identical results; ours is {ratio:.1f}x faster")
    show_times(args.words, args.repeats)
    return 0


def show_times(word_counts: list[int], repeats: int) -> None:
    """UI-thread time of MetricLabPage showing one result (scored beforehand), per highlight kind."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from ift_desktop.core.evaluation.metric_lab import score_candidate
    from ift_desktop.ui.context import AppContext
    from ift_desktop.ui.pages.metric_lab import MetricLabPage

    app = QApplication.instance() or QApplication([])
    import tempfile

    settings = QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.IniFormat)
    lab = MetricLabPage(AppContext(settings=settings))
    lab.resize(840, 650)
    lab.show()
    for count in word_counts:
        candidate, reference = dialogue_words(count, 0), dialogue_words(count, 40)
        lab.editor.set_texts(candidate, [reference])
        lab.shutdown()  # score here, not in the page's worker
        scores = score_candidate(candidate, [reference])
        for kind in ("rouge1", "rougeL", "bleu2"):
            lab.kind_bar.set_kind(kind)
            walls = []
            for _ in range(repeats):
                start = time.perf_counter()
                lab._on_scored(scores)
                lab.repaint()
                app.processEvents()
                walls.append(time.perf_counter() - start)
            print(
                f"{count:4d} words  showing it ({kind:6s} highlighted) on the UI thread: median "
                f"{1000 * statistics.median(walls):6.1f} ms   walls {[round(1000 * w, 1) for w in walls]}"
            )


if __name__ == "__main__":
    raise SystemExit(main())
