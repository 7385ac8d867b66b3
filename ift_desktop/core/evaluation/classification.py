"""GLUE-style classification by log-likelihood: which label word does the model find most likely?

Each row of a labelled file (CSV / TSV / JSON / JSONL / Parquet, ``hf:NAME[:CONFIG]`` or the built-in
``sample:reviews``, all read by :func:`ift_desktop.core.data.sources.load_source`) is rendered with a
classification prompt template (the same library and fields the data wizard uses: ``text`` and
``options``, the label words), formatted exactly as the app formats prompts for the model
(:func:`ift_desktop.core.models.formatting.format_for_model`: the chat template for instruct models),
and the model's answer is the label word (verbalizer) whose tokens have the highest summed
log-probability as the completion — the tokens a fine-tuned model would have been trained to emit.
No generation. The log-likelihoods come from :mod:`.mmlu`'s batched scorer.

Label words: when the file's labels are numbers (SST-2: 0/1) ``labels`` names them in order
(``["negative", "positive"]``); when they are words, ``labels`` (optional) picks and orders them.
With ``shots`` > 0, K solved rows (seeded, labels taken in turn) come before each prompt, in the
Playground's few-shot format, and are left out of the scored rows.

The result: accuracy with a Wilson 95 % interval, per-class accuracy (recall) with intervals, the
confusion matrix (rows: true label, columns: predicted), the majority-class baseline and every row's
prediction with its log-likelihoods.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from ..errors import EvaluationError
from ..progress import TaskState
from ..provenance import now_iso
from .comparison import compare_accuracy, wilson_interval
from .inputs import check_classification_shots, check_shots_leave_rows
from .mmlu import _loglikelihoods, _softmax

MAX_LABELS = 20


@dataclass
class LabelledRows:
    """The rows to classify: texts, their gold labels (as label words) and the label words in order."""

    texts: list[str]
    labels: list[str]
    label_words: list[str]
    origin: str
    indices: list[int]  # each row's position in the source


def _cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _is_number(text: str) -> bool:
    return text.lstrip("-").isdigit()


def read_labelled(
    source: str,
    text_column: str,
    label_column: str,
    *,
    labels: list[str] | None = None,
    split: str = "validation",
    limit: int | None = None,
    state: TaskState | None = None,
) -> LabelledRows:
    """Read ``source`` and check it can be a classification test: both columns, two labels or more."""
    from ..data.sources import load_source

    table = load_source(source, split=split, state=state)
    for role, column in (("text", text_column), ("label", label_column)):
        if column not in table.columns:
            raise EvaluationError(
                f"Column '{column}' (the {role}) not found in {table.origin}; columns are: {', '.join(table.columns)}."
            )
    words = [w.strip() for w in (labels or []) if w.strip()]
    if len(set(words)) != len(words):
        raise EvaluationError(f"The label words {', '.join(words)} repeat a word; give each class its own word.")
    texts, golds, indices = [], [], []
    for index, record in enumerate(table.records):
        text, label = _cell(record.get(text_column)), _cell(record.get(label_column))
        if not text or not label:
            continue
        if words and _is_number(label) and not set(words) & {label}:
            number = int(label)
            if not 0 <= number < len(words):
                raise EvaluationError(
                    f"Label {number} in {table.origin} has no word: {len(words)} words ({', '.join(words)}) "
                    f"name the labels 0..{len(words) - 1}."
                )
            label = words[number]
        texts.append(text)
        golds.append(label)
        indices.append(index)
    if not texts:
        raise EvaluationError(
            f"No row of {table.origin} has both a '{text_column}' and a '{label_column}' value; check the columns."
        )
    found = sorted(set(golds))
    if not words:
        if all(_is_number(g) for g in found):
            raise EvaluationError(
                f"The labels in column '{label_column}' of {table.origin} are numbers ({', '.join(found[:5])}); "
                f"give the word for each in order (e.g. negative,positive for 0,1) so the model can answer in words."
            )
        words = found
    unknown = sorted(set(golds) - set(words))
    if unknown:
        raise EvaluationError(
            f"Labels {', '.join(unknown[:5])} in {table.origin} are not among the label words "
            f"{', '.join(words)}; list every label, or name numeric labels in order."
        )
    if len(set(golds)) < 2:
        raise EvaluationError(
            f"Column '{label_column}' of {table.origin} holds one label only ('{golds[0]}'); "
            "classification needs rows of at least two labels."
        )
    if len(words) > MAX_LABELS:
        raise EvaluationError(
            f"Column '{label_column}' of {table.origin} has {len(words)} different labels; "
            f"classification by label word takes at most {MAX_LABELS} — is it the right column?"
        )
    if limit is not None:
        texts, golds, indices = texts[:limit], golds[:limit], indices[:limit]
    return LabelledRows(texts, golds, words, table.origin, indices)


def classification_template(name: str | None = None):
    """The prompt template: ``name`` from the library, else the classification task's default."""
    from ..data.templates import TemplateLibrary

    library = TemplateLibrary()
    template = library.get(name) if name else library.default_for("classification", {"text", "label", "options"})
    if template.task != "classification":
        raise EvaluationError(f"Template '{template.name}' is for {template.task}; pick a classification template.")
    return template


def _pick_shots(rows: LabelledRows, shots: int, seed: int) -> list[int]:
    """``shots`` row positions, labels taken in turn so every class is shown (seeded)."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(rows.labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    for members in by_label.values():
        rng.shuffle(members)
    picked: list[int] = []
    order = [w for w in rows.label_words if w in by_label]
    while len(picked) < shots and any(by_label[w] for w in order):
        for word in order:
            if by_label[word] and len(picked) < shots:
                picked.append(by_label[word].pop())
    rng.shuffle(picked)
    return picked


def _encode_rows(loaded, rows: LabelledRows, template, shots: list[int], use_chat_template):
    """Prompt ids of every scored row and the label words' completion ids, formatted as the app does."""
    from ..data.templates import render
    from ..models.formatting import format_for_model
    from .icl import build_few_shot_prompt

    def prompt_of(i: int) -> tuple[str, str]:
        return render(template, {"text": rows.texts[i], "label": rows.labels[i], "options": rows.label_words})

    solved = [dict(zip(("prompt", "completion"), prompt_of(i))) for i in shots]
    seq2seq = bool(loaded.is_seq2seq)
    chat = None if seq2seq else use_chat_template
    contexts, prompts = [], []
    skip = set(shots)
    for i in range(len(rows.texts)):
        if i in skip:
            continue
        prompt = prompt_of(i)[0]
        if solved:
            prompt = build_few_shot_prompt(solved, {"prompt": prompt}, len(solved)).text
        text = format_for_model(prompt, "", loaded.tokenizer, is_seq2seq=seq2seq, use_chat_template=chat)
        contexts.append(list(text.prompt_ids))
        prompts.append(text.prompt_text)
    choices = []
    for word in rows.label_words:
        full = format_for_model("x", word, loaded.tokenizer, is_seq2seq=seq2seq, use_chat_template=chat)
        ids = list(full.completion_ids)
        marker = _end_marker_ids(loaded.tokenizer, full.completion_text, word)
        ids = ids[: len(ids) - marker]
        if not ids:
            raise EvaluationError(
                f"The model's tokenizer turns the label word '{word}' into no tokens; pick other words."
            )
        choices.append(ids)
    return contexts, prompts, choices


def _end_marker_ids(tokenizer, completion_text: str, word: str) -> int:
    """How many ids at the end of a completion are the end-of-turn marker, not the label word."""
    if not completion_text.startswith(word):
        return 0
    tail = completion_text[len(word) :]
    return len(tokenizer(tail, add_special_tokens=False)["input_ids"]) if tail else 0


def run_classification(
    loaded,
    rows: LabelledRows,
    *,
    template_name: str | None = None,
    shots: int = 0,
    seed: int = 0,
    batch_size: int = 8,
    use_chat_template: bool | None = None,
    state: TaskState | None = None,
) -> dict:
    """Classify every row by the log-likelihood of each label word; accuracy, per class, confusion."""
    check_classification_shots(shots)
    check_shots_leave_rows(shots, len(rows.texts))
    template = classification_template(template_name)
    shot_rows = _pick_shots(rows, shots, seed) if shots else []
    if state is not None:
        state.report(0.0, "Formatting prompts")
    contexts, prompts, choices = _encode_rows(loaded, rows, template, shot_rows, use_chat_template)
    room = getattr(loaded, "context_length", None) or 2048
    longest_choice = max(len(c) for c in choices)
    too_long = sum(1 for c in contexts if len(c) + longest_choice > room)
    contexts = [c[-(room - longest_choice) :] if len(c) + longest_choice > room else c for c in contexts]
    shown = set(shot_rows)
    scored = [i for i in range(len(rows.texts)) if i not in shown]

    model = loaded.model
    was_training = model.training
    model.eval()
    order = sorted(range(len(contexts)), key=lambda j: -len(contexts[j]))  # similar lengths batch together
    loglik: list[list[float] | None] = [None] * len(contexts)
    started = time.perf_counter()
    try:
        for first in range(0, len(order), batch_size):
            if state is not None:
                state.check_cancelled()
                state.report(first / len(order), f"Classifying {first}/{len(order)} rows")
            batch = order[first : first + batch_size]
            for j, values in zip(batch, _loglikelihoods(loaded, [contexts[j] for j in batch], choices)):
                loglik[j] = values
    finally:
        model.train(was_training)
    seconds = time.perf_counter() - started
    if state is not None:
        state.report(1.0, "Classification finished")
    result = summarise(rows, scored, loglik, prompts)
    result.update(
        {
            "created": now_iso(),
            "template": template.name,
            "shots": shots,
            "shot_rows": [rows.indices[i] for i in shot_rows],
            "chat_template": bool(not loaded.is_seq2seq and _uses_chat(loaded.tokenizer, use_chat_template)),
            "label_tokens": {w: len(c) for w, c in zip(rows.label_words, choices)},
            "truncated_prompts": too_long,
            "timings": {
                "score_s": round(seconds, 3),
                "rows_per_s": round(len(scored) / seconds, 3) if seconds else 0.0,
            },
        }
    )
    return result


def _uses_chat(tokenizer, use_chat_template) -> bool:
    from ..models.formatting import has_chat_template

    return has_chat_template(tokenizer) if use_chat_template is None else bool(use_chat_template)


def summarise(rows: LabelledRows, scored: list[int], loglik: list[list[float]], prompts: list[str]) -> dict:
    """Accuracy with its interval, per-class accuracy, the confusion matrix and each row's answer."""
    words = rows.label_words
    position = {w: k for k, w in enumerate(words)}
    matrix = [[0] * len(words) for _ in words]
    examples = []
    for i, scores, _prompt in zip(scored, loglik, prompts):
        best = max(range(len(words)), key=lambda k: scores[k])
        gold = rows.labels[i]
        matrix[position[gold]][best] += 1
        examples.append(
            {
                "index": rows.indices[i],
                "text": rows.texts[i],
                "label": gold,
                "predicted": words[best],
                "correct": words[best] == gold,
                "loglikelihoods": [round(s, 4) for s in scores],
                "label_probability": round(_softmax(scores)[position[gold]], 4),
            }
        )
    correct = sum(e["correct"] for e in examples)
    n = len(examples)
    per_class = {}
    for k, word in enumerate(words):
        total = sum(matrix[k])
        per_class[word] = {
            "n": total,
            "correct": matrix[k][k],
            "accuracy": matrix[k][k] / total if total else None,
            "ci95": wilson_interval(matrix[k][k], total),
            "predicted": sum(row[k] for row in matrix),
        }
    majority = max(sum(row) for row in matrix) / n
    return {
        "benchmark": "classification",
        "source": rows.origin,
        "method": "log-likelihood of each label word as the answer to the prompt (summed over its tokens)",
        "labels": list(words),
        "accuracy": correct / n,
        "correct": correct,
        "n": n,
        "ci95": wilson_interval(correct, n),
        "chance": majority,
        "chance_label": "majority class",
        "per_class": per_class,
        "macro_accuracy": sum(c["accuracy"] for c in per_class.values() if c["accuracy"] is not None)
        / max(1, sum(1 for c in per_class.values() if c["accuracy"] is not None)),
        "confusion": {"labels": list(words), "matrix": matrix, "rows": "true label", "columns": "predicted label"},
        "example_prompt": prompts[0] if prompts else "",
        "examples": examples,
    }


def compare(base: dict, tuned: dict) -> dict:
    """Accuracy before and after fine-tuning on the same rows, per class and overall, with a paired test
    (:mod:`.comparison`, shared with MMLU)."""
    classes = {}
    for name in base.get("labels") or []:
        b, t = base["per_class"].get(name) or {}, tuned["per_class"].get(name) or {}
        classes[name] = {
            "n": b.get("n") or t.get("n") or 0,
            "base": b.get("accuracy"),
            "tuned": t.get("accuracy"),
            "delta": None if b.get("accuracy") is None or t.get("accuracy") is None else t["accuracy"] - b["accuracy"],
        }
    return compare_accuracy(base, tuned, groups_key="classes", groups=classes, item_key=lambda e: e["index"])
