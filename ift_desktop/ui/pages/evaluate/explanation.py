"""The "How the score is computed" panel text: :func:`explain_example` (core) rendered as HTML."""

from __future__ import annotations

import html

from ift_desktop.core.evaluation.explain import explain_example


def _section(explained: dict) -> str:
    lines = "".join(f"<p style='margin:3px 0'>{html.escape(line)}</p>" for line in explained["lines"])
    return f"<p style='margin:6px 0 2px'><b>{html.escape(explained['title'])}</b></p>{lines}"


def explanation_html(example: dict | None, kind: str, side_label: str) -> str:
    """The explanation of ``kind`` for one example of one model; BLEU-n also shows how sentence BLEU follows."""
    if example is None:
        return ""
    parts = [f"<p style='color:#667085;margin:0'>{html.escape(side_label)} prediction vs. the reference shown</p>",
             _section(explain_example(example, kind))]
    if kind.startswith("bleu"):
        parts.append(_section(explain_example(example, "bleu")))
    return "".join(parts)
