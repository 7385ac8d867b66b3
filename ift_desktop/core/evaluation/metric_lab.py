"""The Metric lab's core: its teaching presets and the scoring of one candidate against its references.

The presets live in ``resources/metric_lab_presets.yaml`` (texts and a one-sentence takeaway each);
:func:`load_presets` reads and checks them. :func:`score_candidate` scores one candidate with
:func:`.metrics.score` — the code behind ``ift-desktop score`` — so the lab shows exactly the numbers
``score --json`` prints for the same texts, and, with several references, also each reference alone
(what the score would be with only that one). Qt-free; the lab page runs it in a worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import EvaluationError
from ..paths import resources_dir
from ..progress import TaskState
from .metrics import score
from .report_highlights import OVERLAP_KINDS

PRESETS_FILE = "metric_lab_presets.yaml"
ALONE_METRICS = ("rouge1", "rougeL", "bleu")  # shown for each reference alone


def alone_score(example: dict, metric: str) -> float:
    """F1 (0–1) of a ROUGE type, or sentence BLEU (0–100), of one scored example."""
    return float(example["bleu"]) if metric == "bleu" else float(example[metric]["fmeasure"])


@dataclass(frozen=True)
class LabPreset:
    """One lesson: a candidate, its references, the overlap to show first and what to learn from it."""

    key: str
    title: str
    references: tuple[str, ...]
    candidate: str
    highlight: str
    takeaway: str


@dataclass(frozen=True)
class LabScores:
    """What the lab shows for one candidate.

    ``example`` is the one example of ``score([candidate], [references])`` (the ``score --json``
    object: ROUGE, sentence BLEU with its detail, the best references and the overlap);
    ``per_reference`` holds, for several references, the example scored against each one alone.
    """

    candidate: str
    references: tuple[str, ...]
    use_stemmer: bool
    example: dict
    per_reference: tuple[dict, ...]
    seconds: float
    warnings: tuple[dict, ...] = ()  # score's warnings ({"code", "message"}), e.g. text ROUGE's tokenizer erases

    def best_alone(self) -> dict[str, int]:
        """Per metric (``rouge1``, ``rougeL``, ``bleu``) the reference that scores best alone (first on ties)."""
        alone = self.per_reference
        if not alone:
            return {}
        return {
            metric: max(range(len(alone)), key=lambda i: (alone_score(alone[i], metric), -i))
            for metric in ALONE_METRICS
        }


def presets_path() -> Path:
    return resources_dir() / PRESETS_FILE


def _preset(entry: object, number: int, path: Path) -> LabPreset:
    where = f"preset {number} of {path}"
    if not isinstance(entry, dict):
        raise EvaluationError(f"The {where} is not a mapping; give key, title, references, candidate and takeaway.")
    missing = [name for name in ("key", "title", "references", "candidate", "takeaway") if not entry.get(name)]
    if missing:
        raise EvaluationError(f"The {where} lacks {', '.join(missing)}; add them.")
    references = entry["references"]
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise EvaluationError(f"The references of the {where} are not a list of texts; give one text per reference.")
    highlight = entry.get("highlight", "rouge1")
    if highlight not in OVERLAP_KINDS:
        raise EvaluationError(
            f"The highlight '{highlight}' of the {where} is unknown; use one of {', '.join(OVERLAP_KINDS)}."
        )
    return LabPreset(
        str(entry["key"]),
        str(entry["title"]),
        tuple(references),
        str(entry["candidate"]),
        highlight,
        " ".join(str(entry["takeaway"]).split()),
    )


def load_presets(path: str | Path | None = None) -> list[LabPreset]:
    """The presets of ``path`` (default: the packaged file), in file order."""
    path = Path(path) if path is not None else presets_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise EvaluationError(
            f"The Metric lab presets {path} could not be read ({exc}); reinstall IFT Desktop."
        ) from exc
    entries = data.get("presets") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise EvaluationError(f"The Metric lab presets {path} hold no 'presets' list; reinstall IFT Desktop.")
    presets = [_preset(entry, number, path) for number, entry in enumerate(entries, start=1)]
    keys = [p.key for p in presets]
    if len(set(keys)) != len(keys):
        raise EvaluationError(f"The Metric lab presets {path} repeat a key; give every preset its own key.")
    return presets


def score_candidate(
    candidate: str,
    references: list[str] | tuple[str, ...],
    *,
    use_stemmer: bool = True,
    state: TaskState | None = None,
) -> LabScores:
    """Score ``candidate`` against ``references`` as ``ift-desktop score`` would (one example)."""
    references = tuple(references)
    if not references:
        raise EvaluationError("The Metric lab needs at least one reference text; add a reference.")
    started = time.perf_counter()
    scored = score([candidate], [list(references)], use_stemmer=use_stemmer, confidence=False)
    example = scored["examples"][0]
    per_reference: tuple[dict, ...] = ()
    if len(references) > 1:
        if state is not None:
            state.check_cancelled()
        alone = score(
            [candidate] * len(references), [[r] for r in references], use_stemmer=use_stemmer, confidence=False
        )
        per_reference = tuple(alone["examples"])
    return LabScores(
        candidate,
        references,
        use_stemmer,
        example,
        per_reference,
        time.perf_counter() - started,
        tuple(scored["warnings"]),
    )
