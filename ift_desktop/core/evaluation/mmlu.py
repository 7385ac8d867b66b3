"""MMLU-style multiple choice by log-likelihood: the catastrophic-forgetting check.

Reads the original MMLU CSVs (no header; ``question, A, B, C, D, answer``), one ``<subject>_dev.csv``
(few-shot exemplars) and ``<subject>_test.csv`` per subject. Each test question is asked after the
standard prompt of Hendrycks et al.::

    The following are multiple choice questions (with answers) about machine learning.

    <dev question>
    A. ...
    B. ...
    C. ...
    D. ...
    Answer: B

    <test question>
    ...
    Answer:

and the model's answer is the letter among `` A``/`` B``/`` C``/`` D`` with the highest log-likelihood as
the continuation (the usual way; no generation, no chat template). When the shots do not fit the
model's context, shots are dropped for that question, as the original evaluation does. The header
and shots are the same for every question of a subject, so causal models compute their KV cache once
per subject and score each question's remaining tokens on top of it (same numbers, ~2.5x faster).
``compare(base, tuned)`` gives the forgetting view: accuracy per subject before and after fine-tuning,
with an exact McNemar test on the paired answers (:mod:`.comparison`, shared with classification).
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import EvaluationError
from ..progress import TaskState
from ..provenance import now_iso
from .comparison import compare_accuracy, wilson_interval
from .inputs import check_limit, check_mmlu_shots, chosen_subjects

LETTERS = ("A", "B", "C", "D")


@dataclass
class Question:
    subject: str
    index: int
    question: str
    choices: tuple[str, str, str, str]
    answer: str  # one of LETTERS


def subject_title(subject: str) -> str:
    return subject.replace("_", " ")


def read_questions(path: str | Path, subject: str) -> list[Question]:
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise EvaluationError(
            f"MMLU file {path} is missing; each subject needs <subject>_dev.csv and <subject>_test.csv."
        ) from None
    except UnicodeDecodeError:
        raise EvaluationError(f"MMLU file {path} is not valid UTF-8; fetch the original CSV again.") from None
    questions = []
    for number, row in enumerate(rows, 1):
        if not row:
            continue
        if len(row) != 6 or row[5].strip().upper() not in LETTERS:
            raise EvaluationError(
                f"Line {number} of {path} is not 'question,A,B,C,D,answer' (got {len(row)} fields); "
                f"MMLU CSVs have no header and the answer is a letter A-D."
            )
        questions.append(Question(subject, len(questions), row[0], tuple(row[1:5]), row[5].strip().upper()))
    return questions


def list_subjects(data_dir: str | Path) -> list[str]:
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise EvaluationError(
            f"MMLU folder {folder} does not exist; point --data at the folder with the *_test.csv files."
        )
    subjects = sorted(p.name[: -len("_test.csv")] for p in folder.glob("*_test.csv"))
    if not subjects:
        raise EvaluationError(f"No MMLU test files (<subject>_test.csv) in {folder}; point --data at the MMLU folder.")
    return subjects


def format_question(q: Question, *, with_answer: bool) -> str:
    text = q.question.strip()
    for letter, choice in zip(LETTERS, q.choices):
        text += f"\n{letter}. {choice}"
    text += "\nAnswer:"
    return text + (f" {q.answer}\n\n" if with_answer else "")


def shots_text(subject: str, shots: list[Question]) -> str:
    """The part of the prompt every question of a subject shares: the header and the worked examples."""
    header = f"The following are multiple choice questions (with answers) about {subject_title(subject)}.\n\n"
    return header + "".join(format_question(s, with_answer=True) for s in shots)


def build_prompt(q: Question, shots: list[Question]) -> str:
    return shots_text(q.subject, shots) + format_question(q, with_answer=False)


# ------------------------------------------------------------------------------------------------
# scoring


def _choice_ids(tokenizer, is_seq2seq: bool) -> list[list[int]]:
    ids = []
    for letter in LETTERS:
        text = letter if is_seq2seq else f" {letter}"
        ids.append(list(tokenizer(text, add_special_tokens=False)["input_ids"]))
    if any(not item for item in ids):
        raise EvaluationError(
            "The model's tokenizer turns an answer letter into no tokens; it cannot do this benchmark."
        )
    return ids


def _context_ids(tokenizer, text: str, is_seq2seq: bool = False) -> list[int]:
    """The prompt's ids: the encoder input (with eos) for seq2seq; for causal models the tokenizer's
    start token, if it has one, and never an end token before the answer."""
    if is_seq2seq:
        return list(tokenizer(text, add_special_tokens=True)["input_ids"])
    from ..models.formatting import format_for_model

    return list(format_for_model(text, "", tokenizer, use_chat_template=False).prompt_ids)


def _loglikelihoods(loaded, contexts: list[list[int]], choices: list[list[int]]) -> list[list[float]]:
    """log P(choice | context) for every context (rows) and choice (columns)."""
    import torch

    model = loaded.model
    device = next(model.parameters()).device
    pad = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else 0
    single = all(len(c) == 1 for c in choices)
    with torch.inference_mode():
        if loaded.is_seq2seq:
            return _seq2seq_loglikelihoods(model, device, pad, contexts, choices, single)
        seqs = contexts if single else [ctx + choice for ctx in contexts for choice in choices]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, seq in enumerate(seqs):  # left padding: every sequence ends in the last column
            ids[row, width - len(seq) :] = torch.tensor(seq)
            mask[row, width - len(seq) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        longest = max(len(c) for c in choices)
        keep = 1 if single else longest + 1  # only the logits that predict the answer tokens
        logits = model(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            logits_to_keep=keep,
        ).logits
        logp = torch.log_softmax(logits.float(), dim=-1)
        if single:
            letters = torch.tensor([c[0] for c in choices], device=logp.device)
            return logp[:, -1][:, letters].tolist()
        scores = []
        for row in range(len(seqs)):
            choice = choices[row % len(choices)]
            kept = torch.arange(longest - len(choice), longest, device=logp.device)
            target = torch.tensor(choice, device=logp.device)
            scores.append(float(logp[row, kept, target].sum()))
        return [scores[i : i + len(choices)] for i in range(0, len(scores), len(choices))]


def _seq2seq_loglikelihoods(model, device, pad, contexts, choices, single) -> list[list[float]]:
    import torch

    width = max(len(c) for c in contexts)
    enc = torch.full((len(contexts), width), pad, dtype=torch.long)
    mask = torch.zeros_like(enc)
    for row, ids in enumerate(contexts):
        enc[row, : len(ids)] = torch.tensor(ids)
        mask[row, : len(ids)] = 1
    enc, mask = enc.to(device), mask.to(device)
    start = model.config.decoder_start_token_id or 0
    if single:
        dec = torch.full((len(contexts), 1), start, dtype=torch.long, device=device)
        logp = torch.log_softmax(
            model(input_ids=enc, attention_mask=mask, decoder_input_ids=dec).logits[:, 0].float(), -1
        )
        return logp[:, torch.tensor([c[0] for c in choices], device=device)].tolist()
    columns = []
    for choice in choices:  # teacher-forced decoder over each answer
        dec = torch.tensor([[start] + choice[:-1]] * len(contexts), device=device)
        logp = torch.log_softmax(model(input_ids=enc, attention_mask=mask, decoder_input_ids=dec).logits.float(), -1)
        steps = torch.arange(len(choice), device=device)
        columns.append(logp[:, steps, torch.tensor(choice, device=device)].sum(-1).tolist())
    return [list(row) for row in zip(*columns)]


def _prefix_cache(model, device, prefix: list[int]):
    """The KV cache of the shared prompt part, computed once per subject."""
    import torch

    with torch.inference_mode():
        out = model(input_ids=torch.tensor([prefix], device=device), use_cache=True, logits_to_keep=1)
    return out.cache if getattr(out, "cache", None) is not None else out.past_key_values  # named `cache` since 5.x


def _cached_loglikelihoods(loaded, cache, prefix_len: int, suffixes: list[list[int]], choices) -> list[list[float]]:
    """Like :func:`_loglikelihoods` for questions that continue one cached prefix (right padding)."""
    import copy

    import torch

    model = loaded.model
    device = next(model.parameters()).device
    pad = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else 0
    single = all(len(c) == 1 for c in choices)
    seqs = suffixes if single else [suffix + choice for suffix in suffixes for choice in choices]
    width = max(len(seq) for seq in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    for row, seq in enumerate(seqs):  # padding after the text: causal attention never looks at it
        ids[row, : len(seq)] = torch.tensor(seq)
    past = copy.deepcopy(cache)
    past.batch_repeat_interleave(len(seqs))
    mask = torch.ones((len(seqs), prefix_len + width), dtype=torch.long)
    positions = (torch.arange(width) + prefix_len).expand(len(seqs), width)
    with torch.inference_mode():
        logits = model(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            cache=past,
            use_cache=True,
        ).logits
    logp = torch.log_softmax(logits.float(), dim=-1)
    if single:
        last = torch.tensor([len(s) - 1 for s in suffixes], device=logp.device)
        letters = torch.tensor([c[0] for c in choices], device=logp.device)
        return logp[torch.arange(len(seqs), device=logp.device), last][:, letters].tolist()
    scores = []
    for row in range(len(seqs)):
        suffix, choice = suffixes[row // len(choices)], choices[row % len(choices)]
        steps = torch.arange(len(suffix) - 1, len(suffix) - 1 + len(choice), device=logp.device)
        scores.append(float(logp[row, steps, torch.tensor(choice, device=logp.device)].sum()))
    return [scores[i : i + len(choices)] for i in range(0, len(scores), len(choices))]


def run_mmlu(
    loaded,
    data_dir: str | Path,
    *,
    shots: int = 5,
    subjects: list[str] | None = None,
    limit: int | None = None,
    batch_size: int = 4,
    state: TaskState | None = None,
) -> dict:
    """Accuracy of ``loaded`` per subject and overall (micro: over questions; macro: over subjects)."""
    check_mmlu_shots(shots)
    check_limit(limit, "Questions per subject")
    chosen = chosen_subjects(data_dir, subjects)
    folder = Path(data_dir).expanduser()
    plan = _plan_questions(loaded, folder, chosen, shots, limit)
    start = time.perf_counter()
    loglik = _score_plan(loaded, plan, batch_size, state)
    seconds = time.perf_counter() - start
    if state is not None:
        state.report(1.0, "MMLU finished")
    return _summarise(plan, loglik, folder, shots, limit, seconds)


@dataclass
class _Plan:
    """The questions to score, their prompt ids, and which of them share a cached prefix."""

    items: list[tuple[Question, list[int], int]]  # (question, prompt ids, shots that fit)
    groups: dict[tuple | None, list[int]]  # (subject, shots) -> item positions; None: no shared prefix
    prefixes: dict[tuple, list[int]]
    choices: list[list[int]]


def _plan_questions(loaded, folder: Path, chosen: list[str], shots: int, limit: int | None) -> _Plan:
    """Each test question's prompt ids (shots dropped until it fits), grouped by the prefix they share."""
    tokenizer, is_seq2seq = loaded.tokenizer, bool(loaded.is_seq2seq)
    context = getattr(loaded, "context_length", None) or 2048
    choices = _choice_ids(tokenizer, is_seq2seq)
    room = context - (0 if is_seq2seq else max(len(c) for c in choices))
    plan = _Plan([], {}, {}, choices)
    for subject in chosen:
        dev = read_questions(folder / f"{subject}_dev.csv", subject) if shots else []
        for q in read_questions(folder / f"{subject}_test.csv", subject)[: limit or None]:
            k = min(shots, len(dev))
            ids = _context_ids(tokenizer, build_prompt(q, dev[:k]), is_seq2seq)
            while len(ids) > room and k > 0:  # drop shots until the question fits
                k -= 1
                ids = _context_ids(tokenizer, build_prompt(q, dev[:k]), is_seq2seq)
            key = None
            if not is_seq2seq and len(ids) <= room:
                key = _shared_prefix_key(plan, tokenizer, subject, dev[:k], ids)
            plan.groups.setdefault(key, []).append(len(plan.items))
            plan.items.append((q, ids[-room:], k))
    if not plan.items:
        raise EvaluationError(f"No MMLU test questions found in {folder} for {', '.join(chosen)}.")
    return plan


def _shared_prefix_key(plan: _Plan, tokenizer, subject: str, shots: list[Question], ids: list[int]) -> tuple | None:
    """``(subject, shots)`` when ``ids`` starts with that group's cached prefix, else None."""
    key = (subject, len(shots))
    if key not in plan.prefixes:  # without the closing blank line, whose tokens merge with the question's
        plan.prefixes[key] = _context_ids(tokenizer, shots_text(subject, shots).rstrip())
    prefix = plan.prefixes[key]
    if len(ids) <= len(prefix) or ids[: len(prefix)] != prefix:  # tokens merge across the seam
        return None
    return key


def _score_plan(loaded, plan: _Plan, batch_size: int, state: TaskState | None) -> list[list[float]]:
    """The answer letters' log-likelihoods of every planned question, in batches, group by group."""
    model, items = loaded.model, plan.items
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    loglik: list[list[float] | None] = [None] * len(items)
    done = 0
    try:
        for key, members in plan.groups.items():
            members.sort(key=lambda i: -len(items[i][1]))
            cache = _prefix_cache(model, device, plan.prefixes[key]) if key is not None else None
            for first in range(0, len(members), batch_size):
                if state is not None:
                    state.check_cancelled()
                    state.report(done / len(items), f"MMLU {done}/{len(items)} questions")
                batch = members[first : first + batch_size]
                if cache is None:
                    values = _loglikelihoods(loaded, [items[i][1] for i in batch], plan.choices)
                else:
                    plen = len(plan.prefixes[key])
                    suffixes = [items[i][1][plen:] for i in batch]
                    values = _cached_loglikelihoods(loaded, cache, plen, suffixes, plan.choices)
                for i, value in zip(batch, values):
                    loglik[i] = value
                done += len(batch)
    finally:
        model.train(was_training)
    return loglik


def _summarise(
    plan: _Plan, loglik: list[list[float]], folder: Path, shots: int, limit: int | None, seconds: float
) -> dict:
    """The result file's record: accuracy with intervals, per subject, and every question's answer."""
    examples, per_subject = [], {}
    for (q, ids, k), scores in zip(plan.items, loglik):
        predicted = LETTERS[max(range(4), key=lambda j: scores[j])]
        probs = _softmax(scores)
        examples.append(
            {
                "subject": q.subject,
                "index": q.index,
                "answer": q.answer,
                "predicted": predicted,
                "correct": predicted == q.answer,
                "shots": k,
                "prompt_tokens": len(ids),
                "loglikelihoods": [round(s, 4) for s in scores],
                "answer_probability": round(probs[LETTERS.index(q.answer)], 4),
            }
        )
        entry = per_subject.setdefault(q.subject, {"correct": 0, "n": 0})
        entry["correct"] += int(predicted == q.answer)
        entry["n"] += 1
    for entry in per_subject.values():
        entry["accuracy"] = entry["correct"] / entry["n"]
        entry["ci95"] = wilson_interval(entry["correct"], entry["n"])
    correct = sum(e["correct"] for e in examples)
    return {
        "benchmark": "mmlu",
        "created": now_iso(),
        "data_dir": str(folder.resolve()),
        "shots": shots,
        "limit": limit,
        "method": "log-likelihood of ' A'/' B'/' C'/' D' after the standard MMLU prompt (no chat template)",
        "chance": 0.25,
        "accuracy": correct / len(examples),
        "correct": correct,
        "n": len(examples),
        "ci95": wilson_interval(correct, len(examples)),
        "macro_accuracy": sum(e["accuracy"] for e in per_subject.values()) / len(per_subject),
        "subjects": per_subject,
        "timings": {
            "score_s": round(seconds, 3),
            "questions_per_s": round(len(examples) / seconds, 3) if seconds else 0.0,
            "shared_prefix_questions": sum(len(m) for k, m in plan.groups.items() if k is not None),
        },
        "examples": examples,
    }


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def compare(base: dict, tuned: dict) -> dict:
    """Accuracy before and after fine-tuning, per subject and overall, with a paired test (:mod:`.comparison`)."""
    subjects = {}
    for name in sorted(set(base.get("subjects", {})) | set(tuned.get("subjects", {}))):
        b, t = base["subjects"].get(name), tuned["subjects"].get(name)
        subjects[name] = {
            "base": b["accuracy"] if b else None,
            "tuned": t["accuracy"] if t else None,
            "delta": (t["accuracy"] - b["accuracy"]) if b and t else None,
            "n": (t or b)["n"],
        }
    return compare_accuracy(
        base, tuned, groups_key="subjects", groups=subjects, item_key=lambda e: (e["subject"], e["index"])
    )
