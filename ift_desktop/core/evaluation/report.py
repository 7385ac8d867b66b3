"""A comparison of evaluations (base vs fine-tuned): loading, pairing and the statistics.

An *evaluation* is the JSON of ``ift-desktop evaluate`` (or ``score``): ``corpus`` plus one
``examples`` entry per test example with its ROUGE/BLEU numbers and the ``overlap`` alignment
(the metric's own tokens with character spans, and the matched positions per overlap kind).
A :class:`Comparison` pairs a base and a tuned evaluation of the same examples (either side may
be missing) and answers the questions the Evaluate page and the report ask: the score of a side,
the gain, the best reference, and the bootstrap intervals and paired test (:func:`summarize`).
Which characters to highlight for an overlap kind and why lives in :mod:`.report_highlights`
(:func:`overlap_spans`); the Qt-free exports, which build on this module, in :mod:`.report_export`
(:func:`comparison_csv`, :func:`comparison_html`, :func:`export_csv`, :func:`export_html`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EvaluationError

METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum", "bleu")
METRIC_LABELS = {
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "rougeLsum": "ROUGE-Lsum",
    "bleu": "BLEU",
}
SIDES = ("base", "tuned")
SIDE_LABELS = {"base": "Base", "tuned": "Fine-tuned"}


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
        raise EvaluationError(
            f"Evaluation file {path} does not exist; pick another one or run the evaluation again."
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EvaluationError(f"Evaluation file {path} could not be read ({exc}); run the evaluation again.") from exc
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
        paired = stats.paired_test(
            comparison.evaluation("base").examples, comparison.evaluation("tuned").examples, state=state
        )
        for metric in METRICS:
            out[metric]["paired"] = paired["metrics"][metric]
            out[metric]["test"] = paired_test_words(metric, paired["metrics"][metric])
    return out


# Below this many paired examples no verdict is given: with 5 examples even the most one-sided
# result has a randomization p-value of 2/2**5 = 0.0625, so "no clear difference" would say nothing.
MIN_EXAMPLES_FOR_VERDICT = 10
SIGNIFICANCE = 0.05


def paired_verdict(result: dict | None, n: int) -> str:
    """What the paired test says about one metric: "better", "worse", "unclear" (not significant),
    "too few" (fewer than MIN_EXAMPLES_FOR_VERDICT examples) or "pending" (no test result yet)."""
    if n < MIN_EXAMPLES_FOR_VERDICT:
        return "too few"
    if not result:
        return "pending"
    if float(result["p_value"]) < SIGNIFICANCE:
        return "better" if float(result["delta"]) > 0 else "worse"
    return "unclear"


def too_few_examples_words(n: int) -> str:
    return (
        f"Only {n} example{'s' if n != 1 else ''}: too few to tell a real difference from chance. "
        f"Evaluate at least {MIN_EXAMPLES_FOR_VERDICT} (40 or more for a trustworthy answer)."
    )


def paired_test_words(metric: str, result: dict) -> str:
    """The paired test of one metric in one sentence a non-statistician can read."""
    delta, p = float(result["delta"]), float(result["p_value"])
    interval = (
        f"{format_score(metric, result['low'], signed=True)} to {format_score(metric, result['high'], signed=True)}"
    )
    if p < SIGNIFICANCE:
        verdict = "fine-tuned better" if delta > 0 else "fine-tuned worse"
    else:
        verdict = "no clear difference"
    counts = f"wins {result.get('wins', 0)} / losses {result.get('losses', 0)} / ties {result.get('ties', 0)}"
    return f"{format_score(metric, delta, signed=True)} (95% CI {interval}), p = {p:.3f}: {verdict}; {counts}."
