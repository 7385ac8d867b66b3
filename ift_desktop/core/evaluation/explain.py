"""How a score comes out of the highlighted tokens, in plain words with the example's own numbers.

:func:`explain_example` reads one scored example (as :func:`.metrics.score` writes it) and returns
``{"title", "lines", "numbers"}``: a heading, short sentences the Evaluate page shows next to the
highlights, and the numbers it used (matched and total counts, precision, recall, F1, BLEU's
brevity penalty), so the page can also show them in its own widgets. The numbers are read from the
overlap and the BLEU statistics, and they reproduce the example's scores.
"""

from __future__ import annotations

import math

ROUGE_N = {"rouge1": 1, "rouge2": 2}
BLEU_N = {"bleu1": 1, "bleu2": 2, "bleu3": 3, "bleu4": 4}
KINDS = ("rouge1", "rouge2", "rougeL", "rougeLsum", "bleu1", "bleu2", "bleu3", "bleu4", "bleu")
_GRAM = {1: "word", 2: "word pair", 3: "three-word sequence", 4: "four-word sequence"}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _f1_line(p: float, r: float, f: float) -> str:
    if p + r == 0:
        return "F1 = 0, because precision and recall are both 0."
    return f"F1 = 2 × P × R / (P + R) = 2 × {p:.3f} × {r:.3f} / {p + r:.3f} = {f:.3f}."


def _tokens(example: dict, family: str, side: str) -> list:
    return example.get("overlap", {}).get("tokens", {}).get(family, {}).get(side, [])


def _matches(example: dict, kind: str, side: str) -> list:
    return example.get("overlap", {}).get("matches", {}).get(kind, {}).get(side, [])


def _reference_note(example: dict, kind: str) -> list[str]:
    chosen = example.get("best_reference_by_metric", {}).get(kind)
    shown = example.get("best_reference_index", 0)
    if chosen is not None and chosen != shown:
        return [
            f"Note: this score comes from reference {chosen + 1}, the best for this metric; the highlights are drawn "
            f"against reference {shown + 1} (the best for ROUGE-L), so the counts below describe that reference."
        ]
    return []


def _explain_rouge_n(example: dict, kind: str) -> dict:
    n = ROUGE_N[kind]
    gram = _GRAM[n]
    pred_n = max(len(_tokens(example, "rouge", "prediction")) - n + 1, 0)
    ref_n = max(len(_tokens(example, "rouge", "reference")) - n + 1, 0)
    matched = len(_matches(example, kind, "prediction"))
    score = example[kind]
    p, r, f = score["precision"], score["recall"], score["fmeasure"]
    lines = [
        f"ROUGE-{n} compares the {gram}s of the prediction and the reference after lowercasing, dropping "
        "punctuation and (with stemming) cutting words to their stem, e.g. 'running' → 'run'.",
        f"A {gram} counts as matched at most as often as it occurs in each text (clipping)"
        + (": 'cold cold cold' against one 'cold' matches once." if n == 1 else "."),
        f"Matched: {_plural(matched, gram)} (highlighted) of the prediction's {pred_n} and the reference's {ref_n}.",
        f"Precision = matched / prediction {gram}s = {matched} / {pred_n} = {p:.3f}.",
        f"Recall = matched / reference {gram}s = {matched} / {ref_n} = {r:.3f}.",
        _f1_line(p, r, f),
    ]
    numbers = {
        "n": n,
        "matched": matched,
        "prediction_total": pred_n,
        "reference_total": ref_n,
        "precision": p,
        "recall": r,
        "fmeasure": f,
    }
    return {"title": f"ROUGE-{n}: shared {gram}s", "lines": _reference_note(example, kind) + lines, "numbers": numbers}


def _explain_rouge_l(example: dict) -> dict:
    pred_n = len(_tokens(example, "rouge", "prediction"))
    ref_n = len(_tokens(example, "rouge", "reference"))
    lcs = len(_matches(example, "rougeL", "prediction"))
    score = example["rougeL"]
    p, r, f = score["precision"], score["recall"], score["fmeasure"]
    lines = [
        "ROUGE-L looks for the longest common subsequence (LCS): the most words that appear in both texts "
        "in the same order, not necessarily next to each other. Word order matters; repeats do not help.",
        f"The LCS here has {_plural(lcs, 'word')} (highlighted); the prediction has {pred_n} words, "
        f"the reference {ref_n}.",
        f"Precision = LCS / prediction words = {lcs} / {pred_n} = {p:.3f}.",
        f"Recall = LCS / reference words = {lcs} / {ref_n} = {r:.3f}.",
        _f1_line(p, r, f),
    ]
    numbers = {
        "lcs": lcs,
        "prediction_total": pred_n,
        "reference_total": ref_n,
        "precision": p,
        "recall": r,
        "fmeasure": f,
    }
    return {
        "title": "ROUGE-L: longest common subsequence",
        "lines": _reference_note(example, "rougeL") + lines,
        "numbers": numbers,
    }


def _explain_rouge_lsum(example: dict) -> dict:
    score = example["rougeLsum"]
    p, r, f = score["precision"], score["recall"], score["fmeasure"]
    lines = [
        "ROUGE-Lsum is ROUGE-L for summaries of several sentences (one per line): for every reference "
        "sentence it takes the union of its LCS with each prediction sentence, counting each word at most "
        "as often as it occurs in both texts.",
        "With single-line texts it equals ROUGE-L; the ROUGE-L highlights show the same idea.",
        f"Precision = {p:.3f}, recall = {r:.3f}.",
        _f1_line(p, r, f),
    ]
    return {
        "title": "ROUGE-Lsum: sentence-level LCS",
        "lines": _reference_note(example, "rougeLsum") + lines,
        "numbers": {"precision": p, "recall": r, "fmeasure": f},
    }


def _bleu_detail(example: dict) -> dict:
    detail = example.get("bleu_detail") or {}
    counts = list(detail.get("counts") or [len(_matches(example, k, "prediction")) for k in BLEU_N])
    pred_len = len(_tokens(example, "bleu", "prediction"))
    totals = list(detail.get("totals") or [max(pred_len - n + 1, 0) for n in range(1, 5)])
    return {
        "counts": counts,
        "totals": totals,
        "precisions": list(detail.get("precisions") or [100.0 * c / t if t else 0.0 for c, t in zip(counts, totals)]),
        "bp": detail.get("bp"),
        "sys_len": detail.get("sys_len", pred_len),
        "ref_len": detail.get("ref_len", len(_tokens(example, "bleu", "reference"))),
    }


def _explain_bleu_n(example: dict, kind: str) -> dict:
    n = BLEU_N[kind]
    gram = _GRAM[n]
    detail = _bleu_detail(example)
    matched, total = detail["counts"][n - 1], detail["totals"][n - 1]
    precision = matched / total if total else 0.0
    lines = [
        f"BLEU's {n}-gram precision asks how many of the prediction's {gram}s occur in a reference. It uses "
        "the exact tokens (case-sensitive, punctuation split off), and a "
        f"{gram} counts at most as often as it occurs in the reference that has it most often.",
        f"Matched: {matched} of the prediction's {total} {gram}s (highlighted).",
        f"p{n} = {matched} / {total} = {precision:.3f}" + ("." if total else " (no such n-grams in the prediction)."),
        "BLEU has no recall; short predictions are punished by the brevity penalty instead (see BLEU).",
    ]
    if n == 1:
        lines += _case_misses(example)
    return {
        "title": f"BLEU-{n}: {gram} precision",
        "lines": lines,
        "numbers": {"n": n, "matched": matched, "prediction_total": total, "precision": precision},
    }


def _case_misses(example: dict) -> list[str]:
    """A line naming unmatched prediction words that would match the reference but for their case."""
    pred = _tokens(example, "bleu", "prediction")
    matched = set(_matches(example, "bleu1", "prediction"))
    ref_words = {t[0] for t in _tokens(example, "bleu", "reference")}
    ref_folded = {w.lower(): w for w in ref_words}
    misses = []
    for i, token in enumerate(pred):
        word = token[0]
        if i not in matched and word not in ref_words and word.lower() in ref_folded:
            pair = f"'{word}' ≠ '{ref_folded[word.lower()]}'"
            if pair not in misses:
                misses.append(pair)
    if not misses:
        return []
    return [f"Not matched because BLEU is case-sensitive: {', '.join(misses[:5])} (ROUGE lowercases, so it matches)."]


def _explain_bleu(example: dict) -> dict:
    d = _bleu_detail(example)
    counts, totals, c, r = d["counts"], d["totals"], d["sys_len"], d["ref_len"]
    bp = d["bp"] if d["bp"] is not None else (1.0 if c >= r else (math.exp(1 - r / c) if c else 0.0))
    lines = [
        "Sentence BLEU (sacrebleu) combines the 1- to 4-gram precisions by a geometric mean and multiplies "
        "by a brevity penalty (BP) for predictions shorter than the reference.",
    ]
    lines += [
        f"p{n} = {counts[n - 1]} / {totals[n - 1]}"
        + (f" = {100 * counts[n - 1] / totals[n - 1]:.1f}%" if totals[n - 1] else " (none in the prediction)")
        for n in range(1, 5)
    ]
    if not any(counts):
        lines.append("No n-gram matches at all, so BLEU = 0.")
    else:
        used = [n for n in range(1, 5) if totals[n - 1]]
        if any(counts[n - 1] == 0 for n in used):
            lines.append(
                "An order with 0 matches would make the geometric mean 0, so sacrebleu smooths it: the k-th such "
                "order counts as 1 / (2^k × its total), giving "
                + ", ".join(f"p{n} = {d['precisions'][n - 1]:.1f}%" for n in used if counts[n - 1] == 0)
                + "."
            )
        if len(used) < 4:
            lines.append(
                f"The prediction is too short for {len(used) + 1}-grams, so only orders 1 to "
                f"{len(used)} are averaged (effective order)."
            )
    if c >= r:
        lines.append(f"BP = 1 because the prediction ({c} tokens) is not shorter than the reference ({r}).")
    else:
        lines.append(f"BP = exp(1 − ref/pred) = exp(1 − {r}/{c}) = {bp:.3f}." if c else "BP = 0: empty prediction.")
    bleu = float(example.get("bleu", 0.0))
    if any(counts):
        used = [d["precisions"][n - 1] for n in range(1, 5) if totals[n - 1]]
        product = " × ".join(f"{p:.1f}" for p in used)
        lines.append(
            f"BLEU = BP × ({product})^(1/{len(used)}) = {bp:.3f} × "
            f"{math.prod(used) ** (1 / len(used)):.2f} = {bleu:.2f}."
        )
    else:
        lines.append("BLEU = 0.")
    numbers = {
        "counts": counts,
        "totals": totals,
        "precisions": d["precisions"],
        "bp": bp,
        "prediction_length": c,
        "reference_length": r,
        "bleu": bleu,
    }
    return {"title": "BLEU: n-gram precisions × brevity penalty", "lines": lines, "numbers": numbers}


def explain_example(example: dict, kind: str) -> dict:
    """``{"title", "lines", "numbers"}`` explaining ``kind`` (one of :data:`KINDS`) for one example."""
    if kind in ROUGE_N:
        return _explain_rouge_n(example, kind)
    if kind == "rougeL":
        return _explain_rouge_l(example)
    if kind == "rougeLsum":
        return _explain_rouge_lsum(example)
    if kind in BLEU_N:
        return _explain_bleu_n(example, kind)
    if kind == "bleu":
        return _explain_bleu(example)
    raise ValueError(f"unknown metric kind {kind!r}; choose one of {', '.join(KINDS)}")
