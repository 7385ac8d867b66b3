"""A comparison of evaluations (base vs fine-tuned), its highlight spans, and its CSV / HTML export.

An *evaluation* is the JSON of ``ift-desktop evaluate`` (or ``score``): ``corpus`` plus one
``examples`` entry per test example with its ROUGE/BLEU numbers and the ``overlap`` alignment
(the metric's own tokens with character spans, and the matched positions per overlap kind).
A :class:`Comparison` pairs a base and a tuned evaluation of the same examples (either side may
be missing) and answers the questions the Evaluate page and the report ask: the score of a side,
the gain, the best reference, and which characters to highlight for an overlap kind and why
(:func:`overlap_spans`). The exports are Qt-free so scripts and the CLI can write them too:
:func:`comparison_csv` and :func:`comparison_html` (one self-contained file, inline CSS, no
scripts, the overlap kind switched by CSS radio buttons, a tooltip on every highlighted token).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import EvaluationError

METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum", "bleu")
METRIC_LABELS = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L", "rougeLsum": "ROUGE-Lsum", "bleu": "BLEU"}
OVERLAP_KINDS = ("rouge1", "rouge2", "rougeL", "bleu1", "bleu2", "bleu3", "bleu4")
KIND_LABELS = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L",
               "bleu1": "BLEU-1", "bleu2": "BLEU-2", "bleu3": "BLEU-3", "bleu4": "BLEU-4"}
SIDES = ("base", "tuned")
SIDE_LABELS = {"base": "Base", "tuned": "Fine-tuned"}
# Highlight colours per kind family: (matched, present-but-not-counted)
KIND_COLOURS = {"rougeN": ("#9fe0b0", "#ffd59e"), "lcs": ("#a9cdf7", "#ffd59e"), "bleu": ("#d7c2f5", "#ffd59e")}


def kind_order(kind: str) -> int | None:
    """n of an n-gram kind (``rouge2`` → 2, ``bleu4`` → 4); None for the LCS of ROUGE-L."""
    return None if kind == "rougeL" else int(kind[-1])


def kind_family(kind: str) -> str:
    return "lcs" if kind == "rougeL" else ("bleu" if kind.startswith("bleu") else "rougeN")


def kind_tokens(kind: str) -> str:
    """Which tokenization the kind's positions refer to: ``rouge`` or ``bleu``."""
    return "bleu" if kind.startswith("bleu") else "rouge"


def example_score(example: dict | None, metric: str) -> float | None:
    """F-measure (0–1) for ROUGE, sentence BLEU (0–100) for ``bleu``; a missing number counts as 0."""
    if example is None:
        return None
    value = example.get(metric)
    if isinstance(value, dict):
        value = value.get("fmeasure", value.get("score"))
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def format_score(metric: str, value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    text = f"{value:+.1f}" if signed else f"{value:.1f}"
    if metric != "bleu":
        text = f"{value:+.3f}" if signed else f"{value:.3f}"
    return text


# ------------------------------------------------------------------------------------ loading
@dataclass
class Evaluation:
    """One evaluation JSON, as loaded from the workspace or a file."""

    name: str
    data: dict
    path: Path | None = None

    @property
    def examples(self) -> list[dict]:
        return self.data["examples"]

    @property
    def role(self) -> str:
        """``base`` or ``tuned``: as saved by the page, else tuned when it names a run."""
        role = (self.data.get("comparison") or {}).get("role")
        if role in SIDES:
            return role
        return "tuned" if self.data.get("run") else "base"

    @property
    def model_label(self) -> str:
        run, model = self.data.get("run"), self.data.get("model")
        if run:
            return Path(str(run)).name
        if isinstance(model, dict):
            return str(model.get("name_or_path") or model.get("name") or model.get("source") or "model")
        return str(model or self.name)


def load_evaluation(path: str | Path) -> Evaluation:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvaluationError(f"Evaluation file {path} does not exist; pick another one or run the evaluation again.")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EvaluationError(f"Evaluation file {path} could not be read ({exc}); run the evaluation again.")
    if not isinstance(data, dict) or not isinstance(data.get("examples"), list):
        raise EvaluationError(
            f"{path.name} is not an evaluation (it has no 'examples' list); open a file written by the "
            "Evaluate page or by `ift-desktop evaluate`."
        )
    return Evaluation(path.stem, data, path)


# ------------------------------------------------------------------------------------ pairing
@dataclass
class ComparisonRow:
    index: int
    prompt: str
    references: list[str]
    examples: dict[str, dict | None] = field(default_factory=dict)  # side -> example or None

    def example(self, side: str) -> dict | None:
        return self.examples.get(side)

    def prediction(self, side: str) -> str | None:
        example = self.examples.get(side)
        return None if example is None else str(example.get("prediction") or "")

    def score(self, side: str, metric: str) -> float | None:
        return example_score(self.examples.get(side), metric)

    def gain(self, metric: str) -> float | None:
        base, tuned = self.score("base", metric), self.score("tuned", metric)
        return None if base is None or tuned is None else tuned - base

    def reference_for(self, side: str) -> tuple[int, str]:
        """The reference the side's overlap was drawn against: (index, text)."""
        example = self.examples.get(side)
        if example is None or not self.references:
            return 0, self.references[0] if self.references else ""
        index = best_reference_index(example, self.references)
        return index, self.references[index]


def best_reference_index(example: dict, references: list[str]) -> int:
    """Index of the reference the example's overlap spans point into (its best reference)."""
    overlap = example.get("overlap") or {}
    for value in (example.get("best_reference_index"), overlap.get("reference_index"), example.get("best_reference")):
        if isinstance(value, int) and 0 <= value < len(references):
            return value
    if len(references) <= 1:
        return 0
    tokens = overlap.get("tokens") or {}
    for kind, fold in (("bleu", False), ("rouge", True)):
        ref_tokens = (tokens.get(kind) or {}).get("reference") or []
        for i, reference in enumerate(references):
            if all(_surface_matches(reference, tok, fold) for tok in ref_tokens) and ref_tokens:
                return i
    return 0


def _surface_matches(text: str, token: list, fold: bool) -> bool:
    word, start, end = token[0], int(token[1]), int(token[2])
    if end > len(text):
        return False
    surface = text[start:end]
    return surface.lower().startswith(str(word)[:3].lower()) if fold else surface == word


class Comparison:
    """Base and/or tuned evaluations of the same examples, row by row."""

    def __init__(self, base: Evaluation | None = None, tuned: Evaluation | None = None):
        if base is None and tuned is None:
            raise EvaluationError("Nothing to show: choose a base evaluation, a fine-tuned one, or both.")
        self.evaluations = {"base": base, "tuned": tuned}
        if base is not None and tuned is not None:
            nb, nt = len(base.examples), len(tuned.examples)
            if nb != nt:
                raise EvaluationError(
                    f"{base.name} has {nb} examples but {tuned.name} has {nt}; compare evaluations made on the "
                    "same split with the same limit."
                )
            for i, (b, t) in enumerate(zip(base.examples, tuned.examples)):
                if b.get("prompt") is not None and t.get("prompt") is not None and b["prompt"] != t["prompt"]:
                    raise EvaluationError(
                        f"{base.name} and {tuned.name} differ at example {i + 1} (different prompts); compare "
                        "evaluations of the same dataset split."
                    )
        self.rows = self._build_rows()

    @property
    def sides(self) -> list[str]:
        return [side for side in SIDES if self.evaluations[side] is not None]

    def evaluation(self, side: str) -> Evaluation | None:
        return self.evaluations[side]

    def corpus(self, side: str, metric: str) -> float | None:
        evaluation = self.evaluations[side]
        if evaluation is None:
            return None
        value = (evaluation.data.get("corpus") or {}).get(metric)
        if isinstance(value, dict):
            value = value.get("fmeasure", value.get("score"))
        return None if value is None else float(value)

    def bleu_signature(self) -> str:
        for side in self.sides:
            bleu = (self.evaluations[side].data.get("corpus") or {}).get("bleu")
            if isinstance(bleu, dict) and bleu.get("signature"):
                return str(bleu["signature"])
        return ""

    def _build_rows(self) -> list[ComparisonRow]:
        sides = self.sides
        count = len(self.evaluations[sides[0]].examples)
        rows = []
        for i in range(count):
            examples = {side: self.evaluations[side].examples[i] if side in sides else None for side in SIDES}
            first = examples[sides[0]]
            references = first.get("references")
            if references is None:
                references = [first["reference"]] if "reference" in first else []
            rows.append(ComparisonRow(i, str(first.get("prompt") or ""), [str(r) for r in references], examples))
        return rows


# ------------------------------------------------------------------------------------ statistics
def summarize(comparison: Comparison, *, state=None) -> dict:
    """Bootstrap 95 % intervals per side and, with both sides, the paired test (from :mod:`.stats`).

    Returns ``{metric: {side: {"value", "low", "high"}, "paired": {...} | None, "test": words}}``.
    """
    from . import stats

    out: dict = {metric: {"paired": None, "test": ""} for metric in METRICS}
    for side in comparison.sides:
        intervals = stats.bootstrap_ci(comparison.evaluation(side).examples, state=state)["metrics"]
        for metric in METRICS:
            out[metric][side] = intervals[metric]
    if len(comparison.sides) == 2:
        paired = stats.paired_test(comparison.evaluation("base").examples, comparison.evaluation("tuned").examples,
                                   state=state)
        for metric in METRICS:
            out[metric]["paired"] = paired["metrics"][metric]
            out[metric]["test"] = paired_test_words(metric, paired["metrics"][metric])
    return out


def paired_test_words(metric: str, result: dict) -> str:
    """The paired test of one metric in one sentence a non-statistician can read."""
    delta, p = float(result["delta"]), float(result["p_value"])
    interval = (f"{format_score(metric, result['low'], signed=True)} to "
                f"{format_score(metric, result['high'], signed=True)}")
    if p < 0.05:
        verdict = "fine-tuned better" if delta > 0 else "fine-tuned worse"
    else:
        verdict = "no clear difference"
    counts = f"wins {result.get('wins', 0)} / losses {result.get('losses', 0)} / ties {result.get('ties', 0)}"
    return f"{format_score(metric, delta, signed=True)} (95% CI {interval}), p = {p:.3f}: {verdict}; {counts}."


# ------------------------------------------------------------------------------------ highlights
@dataclass(frozen=True)
class HighlightSpan:
    """One highlighted token: characters ``[start, end)`` of the original text."""

    start: int
    end: int
    category: str  # "match" (counted by the metric) or "other" (also in the other text, not counted)
    token: int
    tooltip: str


@dataclass(frozen=True)
class KindNumbers:
    """The counts behind one overlap kind of one example: matched units over the totals."""

    kind: str
    matched: int
    prediction_total: int  # n-grams (or tokens) in the prediction
    reference_total: int  # n-grams (or tokens) in the shown reference

    @property
    def precision(self) -> float:
        return self.matched / self.prediction_total if self.prediction_total else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.reference_total if self.reference_total else 0.0

    @property
    def fmeasure(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def kind_numbers(example: dict | None, kind: str) -> KindNumbers:
    """Matched / total counts of ``kind`` from the example's overlap (what the highlights show)."""
    overlap = (example or {}).get("overlap") or {}
    tokens = (overlap.get("tokens") or {}).get(kind_tokens(kind)) or {}
    pred, ref = len(tokens.get("prediction") or []), len(tokens.get("reference") or [])
    matched = len((((overlap.get("matches") or {}).get(kind)) or {}).get("prediction") or [])
    n = kind_order(kind) or 1
    return KindNumbers(kind, matched, max(0, pred - n + 1), max(0, ref - n + 1))


def legend_entries(kind: str) -> list[tuple[str, str, str]]:
    """(category, colour, text) for the legend of an overlap kind."""
    matched, other = KIND_COLOURS[kind_family(kind)]
    if kind == "rougeL":
        return [("match", matched, "in the longest common subsequence (LCS)"),
                ("other", other, "also in the other text, but outside the LCS")]
    n = kind_order(kind)
    what = "word" if n == 1 else f"{n}-gram"
    return [("match", matched, f"matched {what} (counted)"),
            ("other", other, f"{what} also in the other text, not counted (clipped to its count there)")]


def overlap_spans(example: dict | None, kind: str, side: str) -> list[HighlightSpan]:
    """The tokens to highlight on ``side`` ("prediction" or "reference") for an overlap kind.

    The positions are exactly the example's ``overlap.matches[kind]``: a matched n-gram starting
    at token i colours tokens i..i+n-1. Tokens whose n-gram also occurs in the other text but was
    not counted (clipping, or outside the LCS) get the second colour.
    """
    overlap = (example or {}).get("overlap") or {}
    tokens_all = (overlap.get("tokens") or {}).get(kind_tokens(kind)) or {}
    mine = tokens_all.get(side) or []
    theirs = tokens_all.get("reference" if side == "prediction" else "prediction") or []
    starts = ((overlap.get("matches") or {}).get(kind) or {}).get(side) or []
    here, there = ("prediction", "reference") if side == "prediction" else ("reference", "prediction")
    words = [str(t[0]) for t in mine]
    other_words = [str(t[0]) for t in theirs]
    spans: dict[int, tuple[str, str]] = {}
    if kind == "rougeL":
        lcs = sorted(set(int(i) for i in starts))
        rank = {t: k for k, t in enumerate(lcs, 1)}
        present = set(other_words)
        for t, word in enumerate(words):
            if t in rank:
                spans[t] = ("match", f"“{word}”: LCS token {rank[t]} of {len(lcs)}; LCS length {len(lcs)}, "
                                     f"{len(words)} tokens in the {here}")
            elif word in present:
                spans[t] = ("other", f"“{word}” also occurs in the {there}, but not in the order of the longest "
                                     "common subsequence, so ROUGE-L does not count it")
    else:
        n = kind_order(kind)
        grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
        own_counts = Counter(grams)
        other_counts = Counter(tuple(other_words[i:i + n]) for i in range(len(other_words) - n + 1))
        counted = {int(s) for s in starts if 0 <= int(s) < len(grams)}
        counted_per_gram = Counter(grams[s] for s in counted)
        for t in range(len(words)):
            lines, category = [], None
            for s in range(max(0, t - n + 1), min(t, len(grams) - 1) + 1):
                gram = grams[s]
                if s not in counted and other_counts[gram] == 0:
                    continue
                status = "counted" if s in counted else "not counted (clipped)"
                lines.append(f"“{' '.join(gram)}”: {own_counts[gram]}× in the {here}, {other_counts[gram]}× in the "
                             f"{there}; {counted_per_gram[gram]} counted — this one {status}")
                category = "match" if s in counted else (category or "other")
            if category:
                spans[t] = (category, "\n".join(lines))
    result = []
    for t in sorted(spans):
        category, tip = spans[t]
        start, end = int(mine[t][1]), int(mine[t][2])
        result.append(HighlightSpan(start, end, category, t, tip))
    return result


def highlighted_html(text: str, spans: list[HighlightSpan], kind: str) -> str:
    """``text`` escaped, with each span wrapped in a coloured, titled ``<span>`` (for the report)."""
    out, pos = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < pos or span.end > len(text):
            continue
        out.append(html.escape(text[pos:span.start]))
        out.append(f'<span class="hl {kind_family(kind)}-{span.category}" title="{html.escape(span.tooltip)}">'
                   f"{html.escape(text[span.start:span.end])}</span>")
        pos = span.end
    out.append(html.escape(text[pos:]))
    return "".join(out)


# ------------------------------------------------------------------------------------ exports
def comparison_csv(comparison: Comparison) -> str:
    """One row per example: texts, every metric per side, and the gains."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["example", "prompt", "references", "base_prediction", "tuned_prediction"]
    header += [f"{side}_{m}" for side in SIDES for m in METRICS] + [f"gain_{m}" for m in METRICS]
    writer.writerow(header)
    for row in comparison.rows:
        cells = [row.index + 1, row.prompt, json.dumps(row.references, ensure_ascii=False),
                 row.prediction("base") or "", row.prediction("tuned") or ""]
        for side in SIDES:
            cells += [_csv_number(row.score(side, m)) for m in METRICS]
        cells += [_csv_number(row.gain(m)) for m in METRICS]
        writer.writerow(cells)
    return buffer.getvalue()


def _csv_number(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def export_csv(comparison: Comparison, path: str | Path) -> Path:
    return atomic_write_text(path, comparison_csv(comparison))


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2430;margin:24px auto;max-width:1200px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}.muted{color:#667085}
table.summary{border-collapse:collapse;margin:8px 0}table.summary td,table.summary th{border-bottom:1px solid #e4e7ec;
padding:4px 12px;text-align:right}table.summary th:first-child,table.summary td:first-child{text-align:left}
.pos{color:#1e7b34}.neg{color:#b3261e}code{background:#f2f4f7;padding:1px 4px;border-radius:3px}
.kinds{position:sticky;top:0;background:#fff;padding:8px 0;border-bottom:1px solid #e4e7ec;z-index:1}
.kinds label{margin-right:6px;cursor:pointer;padding:2px 8px;border:1px solid #d0d5dd;border-radius:4px}
.legend{margin-top:6px}.legend span{margin-right:14px}
.example{border:1px solid #e4e7ec;border-radius:8px;padding:10px 14px;margin:12px 0}
.example h3{font-size:15px;margin:0 0 6px}.panes{display:grid;gap:12px}
.pane h4{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#667085;margin:4px 0}
.text{white-space:pre-wrap;background:#fafbfc;border:1px solid #eef0f3;border-radius:6px;padding:6px 8px}
.hl{border-radius:3px;padding:0 1px}.k{display:none}.empty{color:#98a2b3;font-style:italic}
details{margin:4px 0}summary{cursor:pointer;color:#475467}
"""


def _kind_css(kinds) -> str:
    rules = []
    for kind in kinds:
        rules.append(f"#kind-{kind}:checked~.examples .k-{kind}{{display:block}}")
        rules.append(f"#kind-{kind}:checked~.kinds .lg-{kind}{{display:inline}}")
        rules.append(f"#kind-{kind}:checked~.kinds label[for=kind-{kind}]{{background:#2563eb;color:#fff}}")
    for family, (matched, other) in KIND_COLOURS.items():
        rules.append(f".{family}-match{{background:{matched}}}.{family}-other{{background:{other}}}")
    return "".join(rules)


def comparison_html(comparison: Comparison, *, summary: dict | None = None, title: str = "",
                    kinds: tuple[str, ...] = OVERLAP_KINDS) -> str:
    """One self-contained HTML page: corpus numbers, then every example with its highlights."""
    sides = comparison.sides
    esc = html.escape
    title = title or " vs ".join(comparison.evaluation(s).name for s in sides)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
             f"<style>{_CSS}{_kind_css(kinds)}</style></head><body>",
             f"<h1>{esc(title)}</h1><p class='muted'>"
             + " · ".join(f"{SIDE_LABELS[s]}: {esc(comparison.evaluation(s).model_label)}" for s in sides)
             + f" · {len(comparison.rows)} examples</p>"]
    parts.append("<h2>Corpus scores</h2><table class='summary'><tr><th>Metric</th>"
                 + "".join(f"<th>{SIDE_LABELS[s]}</th><th>95% CI</th>" for s in sides)
                 + ("<th>Gain</th><th>Paired test</th>" if len(sides) == 2 else "") + "</tr>")
    for metric in METRICS:
        stats = (summary or {}).get(metric) or {}
        cells = [f"<td>{METRIC_LABELS[metric]}</td>"]
        for side in sides:
            ci = stats.get(side) or {}
            ci = ci if isinstance(ci, dict) else {}
            interval = (f"{format_score(metric, ci['low'])} – {format_score(metric, ci['high'])}"
                        if "low" in ci else "—")
            cells.append(f"<td>{format_score(metric, comparison.corpus(side, metric))}</td><td>{interval}</td>")
        if len(sides) == 2:
            base, tuned = comparison.corpus("base", metric), comparison.corpus("tuned", metric)
            gain = None if base is None or tuned is None else tuned - base
            css = "pos" if (gain or 0) > 0 else "neg" if (gain or 0) < 0 else ""
            cells.append(f"<td class='{css}'>{format_score(metric, gain, signed=True)}</td>"
                         f"<td>{esc(str(stats.get('test') or '—'))}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    if len(sides) == 2 and summary:
        parts.append("<p class='muted'>Paired test: the 95% bootstrap interval of the difference on the same examples "
                     "and a randomization p-value (below 0.05: unlikely to be chance).</p>")
    signature = comparison.bleu_signature()
    if signature:
        parts.append(f"<p class='muted'>BLEU signature: <code>{esc(signature)}</code></p>")
    parts.append("<h2>Examples</h2>")
    for i, kind in enumerate(kinds):
        parts.append(f"<input type='radio' name='kind' id='kind-{kind}'{' checked' if i == 0 else ''} hidden>")
    parts.append("<div class='kinds'>Highlight: " + "".join(
        f"<label for='kind-{k}'>{KIND_LABELS[k]}</label>" for k in kinds) + "<div class='legend'>")
    for kind in kinds:
        legend = "".join(f"<span><span class='hl {kind_family(kind)}-{cat}'>&nbsp;&nbsp;&nbsp;</span> {esc(text)}</span>"
                         for cat, _colour, text in legend_entries(kind))
        parts.append(f"<span class='k lg-{kind}'>{legend}</span>")
    parts.append("</div></div><div class='examples'>")
    columns = 1 + len(sides)
    for row in comparison.rows:
        head = [f"Example {row.index + 1}"]
        for metric in ("rougeL", "bleu"):
            gain = row.gain(metric)
            if gain is not None:
                head.append(f"{METRIC_LABELS[metric]} gain {format_score(metric, gain, signed=True)}")
            else:
                side = sides[0]
                head.append(f"{METRIC_LABELS[metric]} {format_score(metric, row.score(side, metric))}")
        parts.append(f"<div class='example'><h3>{esc(' · '.join(head))}</h3>"
                     f"<details><summary>Prompt</summary><div class='text'>{esc(row.prompt)}</div></details>"
                     f"<div class='panes' style='grid-template-columns:repeat({columns},1fr)'>")
        parts.append("<div class='pane'><h4>Reference</h4>")
        for ref_side in sides:
            ref_index, reference = row.reference_for(ref_side)
            label = []
            if len(sides) == 2:
                label.append(f"matches of {SIDE_LABELS[ref_side].lower()}")
            if len(row.references) > 1:
                label.append(f"reference {ref_index + 1} of {len(row.references)}")
            if label:
                parts.append(f"<div class='muted'>{esc(', '.join(label))}</div>")
            for kind in kinds:
                spans = overlap_spans(row.example(ref_side), kind, "reference")
                parts.append(f"<div class='text k k-{kind}'>{highlighted_html(reference, spans, kind)}</div>")
        parts.append("</div>")
        for side in sides:
            example, prediction = row.example(side), row.prediction(side) or ""
            scores = ", ".join(f"{METRIC_LABELS[m]} {format_score(m, row.score(side, m))}" for m in ("rouge1", "rougeL", "bleu"))
            parts.append(f"<div class='pane'><h4>{SIDE_LABELS[side]} prediction</h4><div class='muted'>{scores}</div>")
            for kind in kinds:
                body = (highlighted_html(prediction, overlap_spans(example, kind, "prediction"), kind)
                        if prediction else "<span class='empty'>(empty prediction — scores 0)</span>")
                parts.append(f"<div class='text k k-{kind}'>{body}</div>")
            parts.append("</div>")
        parts.append("</div></div>")
    parts.append("</div></body></html>")
    return "".join(parts)


def export_html(comparison: Comparison, path: str | Path, *, summary: dict | None = None, title: str = "") -> Path:
    return atomic_write_text(path, comparison_html(comparison, summary=summary, title=title))
