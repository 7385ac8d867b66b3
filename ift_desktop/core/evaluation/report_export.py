"""The exports of a :class:`~.report.Comparison`: a CSV of every example and one self-contained HTML report.

:func:`comparison_csv` writes one row per example (texts, every metric per side, the gains);
:func:`comparison_html` one page with inline CSS and no scripts: the corpus scores with their
intervals and paired test, then every example with its highlights, the overlap kind switched by
CSS radio buttons and a tooltip on every highlighted token. Qt-free, so scripts and the CLI can
write them too; :func:`export_csv` and :func:`export_html` write the files atomically.
"""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

from ..atomic import atomic_write_text
from .report import METRIC_LABELS, METRICS, SIDE_LABELS, SIDES, Comparison, format_score
from .report_highlights import (
    KIND_COLOURS,
    KIND_LABELS,
    OVERLAP_KINDS,
    highlighted_html,
    kind_family,
    legend_entries,
    overlap_spans,
)


def comparison_csv(comparison: Comparison) -> str:
    """One row per example: texts, every metric per side, and the gains."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["example", "prompt", "references", "base_prediction", "tuned_prediction"]
    header += [f"{side}_{m}" for side in SIDES for m in METRICS] + [f"gain_{m}" for m in METRICS]
    writer.writerow(header)
    for row in comparison.rows:
        cells = [
            row.index + 1,
            row.prompt,
            json.dumps(row.references, ensure_ascii=False),
            row.prediction("base") or "",
            row.prediction("tuned") or "",
        ]
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


def comparison_html(
    comparison: Comparison, *, summary: dict | None = None, title: str = "", kinds: tuple[str, ...] = OVERLAP_KINDS
) -> str:
    """One self-contained HTML page: corpus numbers, then every example with its highlights."""
    sides = comparison.sides
    esc = html.escape
    title = title or " vs ".join(comparison.evaluation(s).name for s in sides)
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<style>{_CSS}{_kind_css(kinds)}</style></head><body>",
        f"<h1>{esc(title)}</h1><p class='muted'>"
        + " · ".join(f"{SIDE_LABELS[s]}: {esc(comparison.evaluation(s).model_label)}" for s in sides)
        + f" · {len(comparison.rows)} examples</p>",
    ]
    parts.append(
        "<h2>Corpus scores</h2><table class='summary'><tr><th>Metric</th>"
        + "".join(f"<th>{SIDE_LABELS[s]}</th><th>95% CI</th>" for s in sides)
        + ("<th>Gain</th><th>Paired test</th>" if len(sides) == 2 else "")
        + "</tr>"
    )
    for metric in METRICS:
        stats = (summary or {}).get(metric) or {}
        cells = [f"<td>{METRIC_LABELS[metric]}</td>"]
        for side in sides:
            ci = stats.get(side) or {}
            ci = ci if isinstance(ci, dict) else {}
            interval = f"{format_score(metric, ci['low'])} – {format_score(metric, ci['high'])}" if "low" in ci else "—"
            cells.append(f"<td>{format_score(metric, comparison.corpus(side, metric))}</td><td>{interval}</td>")
        if len(sides) == 2:
            base, tuned = comparison.corpus("base", metric), comparison.corpus("tuned", metric)
            gain = None if base is None or tuned is None else tuned - base
            css = "pos" if (gain or 0) > 0 else "neg" if (gain or 0) < 0 else ""
            cells.append(
                f"<td class='{css}'>{format_score(metric, gain, signed=True)}</td>"
                f"<td>{esc(str(stats.get('test') or '—'))}</td>"
            )
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    if len(sides) == 2 and summary:
        parts.append(
            "<p class='muted'>Paired test: the 95% bootstrap interval of the difference on the same examples "
            "and a randomization p-value (below 0.05: unlikely to be chance).</p>"
        )
    signature = comparison.bleu_signature()
    if signature:
        parts.append(f"<p class='muted'>BLEU signature: <code>{esc(signature)}</code></p>")
    parts.append("<h2>Examples</h2>")
    for i, kind in enumerate(kinds):
        parts.append(f"<input type='radio' name='kind' id='kind-{kind}'{' checked' if i == 0 else ''} hidden>")
    parts.append(
        "<div class='kinds'>Highlight: "
        + "".join(f"<label for='kind-{k}'>{KIND_LABELS[k]}</label>" for k in kinds)
        + "<div class='legend'>"
    )
    for kind in kinds:
        legend = "".join(
            f"<span><span class='hl {kind_family(kind)}-{cat}'>&nbsp;&nbsp;&nbsp;</span> {esc(text)}</span>"
            for cat, _colour, text in legend_entries(kind)
        )
        parts.append(f"<span class='k lg-{kind}'>{legend}</span>")
    parts.append("</div></div><div class='examples'>")
    for row in comparison.rows:
        parts.append(_example_html(row, sides, kinds))
    parts.append("</div></body></html>")
    return "".join(parts)


def _example_html(row, sides, kinds: tuple[str, ...]) -> str:
    """One example of the page: its gains, the prompt, the reference and each side's highlighted prediction."""
    esc = html.escape
    columns = 1 + len(sides)
    parts = []
    head = [f"Example {row.index + 1}"]
    for metric in ("rougeL", "bleu"):
        gain = row.gain(metric)
        if gain is not None:
            head.append(f"{METRIC_LABELS[metric]} gain {format_score(metric, gain, signed=True)}")
        else:
            side = sides[0]
            head.append(f"{METRIC_LABELS[metric]} {format_score(metric, row.score(side, metric))}")
    parts.append(
        f"<div class='example'><h3>{esc(' · '.join(head))}</h3>"
        f"<details><summary>Prompt</summary><div class='text'>{esc(row.prompt)}</div></details>"
        f"<div class='panes' style='grid-template-columns:repeat({columns},1fr)'>"
    )
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
        scores = ", ".join(
            f"{METRIC_LABELS[m]} {format_score(m, row.score(side, m))}" for m in ("rouge1", "rougeL", "bleu")
        )
        parts.append(f"<div class='pane'><h4>{SIDE_LABELS[side]} prediction</h4><div class='muted'>{scores}</div>")
        for kind in kinds:
            body = (
                highlighted_html(prediction, overlap_spans(example, kind, "prediction"), kind)
                if prediction
                else "<span class='empty'>(empty prediction — scores 0)</span>"
            )
            parts.append(f"<div class='text k k-{kind}'>{body}</div>")
        parts.append("</div>")
    parts.append("</div></div>")
    return "".join(parts)


def export_html(comparison: Comparison, path: str | Path, *, summary: dict | None = None, title: str = "") -> Path:
    return atomic_write_text(path, comparison_html(comparison, summary=summary, title=title))
