"""The instruction tasks IFT Desktop knows, their fields, and a guess at which columns fill them.

A task names the *fields* a prompt template may use (``document`` and ``summary`` for
summarization, ...); ``--map FIELD=COLUMN`` or the wizard's column page says which column of
the source fills each field. A target field mapped to several columns gives several references
(DialogSum's ``summary1``, ``summary2``, ``summary3``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from ..errors import DataError


@dataclass(frozen=True)
class TaskSpec:
    name: str
    title: str
    input_fields: list[str]
    target_field: str
    optional_fields: list[str] = field(default_factory=list)
    extra_params: list[str] = field(default_factory=list)
    description: str = ""

    @property
    def fields(self) -> list[str]:
        """Every field a template of this task may use from the data, in display order."""
        return [*self.input_fields, self.target_field]

    @property
    def required_fields(self) -> list[str]:
        return [f for f in self.fields if f not in self.optional_fields]


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "summarization",
            "Summarization",
            ["document"],
            "summary",
            description="Condense a document or dialogue into a short summary.",
        ),
        TaskSpec(
            "translation",
            "Translation",
            ["source"],
            "target",
            extra_params=["source_lang", "target_lang"],
            description="Translate a sentence from one language into another.",
        ),
        TaskSpec(
            "classification",
            "Classification / sentiment",
            ["text"],
            "label",
            extra_params=["labels"],
            description="Assign a label (e.g. positive / negative) to a text.",
        ),
        TaskSpec(
            "qa",
            "Question answering",
            ["context", "question"],
            "answer",
            optional_fields=["context"],
            description="Answer a question, from a given passage (extractive) or from knowledge (closed-book).",
        ),
        TaskSpec(
            "instruction",
            "Open instruction",
            ["instruction", "input"],
            "output",
            optional_fields=["input"],
            description="Follow a free-form instruction, optionally with an input to work on.",
        ),
    )
}

# Column names that usually hold each field, most specific first.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "document": ("document", "dialogue", "dialog", "article", "text", "passage", "content", "body", "conversation"),
    "summary": ("summary", "summaries", "highlights", "abstract", "tldr", "headline"),
    "source": ("source", "src", "en", "english", "source_text", "sentence"),
    "target": ("target", "tgt", "de", "german", "fr", "french", "translation", "target_text"),
    "text": ("text", "sentence", "review", "content", "document", "tweet", "comment", "utterance"),
    "label": ("label", "sentiment", "labels", "class", "category", "polarity"),
    "context": ("context", "passage", "document", "paragraph", "article"),
    "question": ("question", "query", "questions"),
    "answer": ("answer", "answers", "response", "label"),
    "instruction": ("instruction", "instructions", "prompt", "question", "query"),
    "input": ("input", "context", "inputs"),
    "output": ("output", "response", "answer", "completion", "outputs"),
}


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise DataError(f"Unknown task '{name}'; the known tasks are: {', '.join(TASKS)}.") from None


def _norm(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")


def _numbered(base: str, columns: list[str]) -> list[str]:
    """Columns named ``base1``, ``base_2``, ... (several references), in numeric order."""
    found = []
    for column in columns:
        match = re.fullmatch(rf"{re.escape(base)}_?(\d+)", _norm(column))
        if match:
            found.append((int(match.group(1)), column))
    return [column for _, column in sorted(found)]


def guess_mapping(task: str, columns: list[str]) -> dict[str, list[str]]:
    """Guess field → columns for ``task`` from column names; fields with no good match are left out.

    Each column fills at most one field. For the target field, numbered columns (``summary1``,
    ``summary2``, ...) are all taken, giving several references.
    """
    spec = get_task(task)
    by_norm = {_norm(c): c for c in columns}
    used: set[str] = set()
    mapping: dict[str, list[str]] = {}
    # the target first: its numbered variants are the strongest signal
    order = [spec.target_field, *spec.input_fields]
    for name in order:
        for synonym in (name, *_SYNONYMS.get(name, ())):
            if name == spec.target_field:
                numbered = [c for c in _numbered(synonym, columns) if c not in used]
                if synonym in by_norm and by_norm[synonym] not in used and not numbered:
                    mapping[name] = [by_norm[synonym]]
                elif numbered:
                    mapping[name] = numbered
                if name in mapping:
                    break
            elif synonym in by_norm and by_norm[synonym] not in used:
                mapping[name] = [by_norm[synonym]]
                break
        used.update(mapping.get(name, []))
    return {name: mapping[name] for name in spec.fields if name in mapping}


def closest_columns(name: str, columns: list[str], *, n: int = 3) -> list[str]:
    """Columns whose names are close to ``name`` (a misspelling: ``dialouge`` ↔ ``dialogue``), closest first."""
    by_norm: dict[str, str] = {}
    for column in columns:
        by_norm.setdefault(_norm(column), column)
    matches = difflib.get_close_matches(_norm(name), list(by_norm), n=n, cutoff=0.75)
    return [by_norm[m] for m in matches]


def columns_like_field(field_name: str, columns: list[str], *, n: int = 3) -> list[str]:
    """Columns whose names are close to one of the usual names of ``field_name`` (its synonyms), closest first."""
    scored: dict[str, float] = {}
    for synonym in (field_name, *_SYNONYMS.get(field_name, ())):
        for column in columns:
            ratio = difflib.SequenceMatcher(None, synonym, _norm(column)).ratio()
            if ratio >= 0.75:
                scored[column] = max(scored.get(column, 0.0), ratio)
    return sorted(scored, key=lambda c: -scored[c])[:n]


def parse_mapping(items: list[str] | None) -> dict[str, list[str]]:
    """``["summary=summary1,summary2", "document=dialogue"]`` → ``{"summary": [...], ...}``."""
    mapping: dict[str, list[str]] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        columns = [c.strip() for c in value.split(",") if c.strip()]
        if not sep or not name.strip() or not columns:
            raise DataError(
                f"Cannot read the mapping '{item}'; write it as FIELD=COLUMN or FIELD=COLUMN1,COLUMN2 "
                "(e.g. --map document=dialogue)."
            )
        mapping.setdefault(name.strip(), []).extend(columns)
    return mapping
