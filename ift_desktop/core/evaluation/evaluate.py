"""`ift-desktop evaluate`: generate on a split of a prepared dataset with a model or a run, and score it.

``evaluate(model=..., data_dir=..., split="test")`` loads the model (the built-in one, a Hub id, a
local folder, or a training run: base model plus adapter, or fully fine-tuned weights), answers every
prompt of the split with batched greedy generation (:mod:`.generation`), and scores the answers
against the references with :func:`.metrics.score` (ROUGE-1/2/L/Lsum from ``rouge_score``, BLEU from
``sacrebleu``, with the overlap alignment). Several references per example come from the rows'
``references`` (ROUGE takes the best-F reference, BLEU uses them all).

The result is the JSON of the contract (DESIGN.md): ``corpus`` and ``examples`` as ``score`` writes
them, each example also holding ``prompt``, ``prediction`` and ``references``; plus ``model``,
``run``, ``split``, the generation settings, timings, the dataset it came from, bootstrap confidence
intervals and warnings. The Evaluate page loads these files (:func:`read_evaluation`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from ..atomic import atomic_write_json
from ..errors import EvaluationError
from ..progress import TaskState, span
from ..provenance import library_versions, now_iso
from .generation import GenerationSettings, generate

SCHEMA_VERSION = 1
ROUGE_KEYS = ("rouge1", "rouge2", "rougeL", "rougeLsum")


# ------------------------------------------------------------------------------------------------
# inputs


def load_split_rows(data_dir: str | Path, split: str = "test", limit: int | None = None) -> list[dict]:
    """The rows of one split of a prepared dataset, checked for prompts and references."""
    from ..data.dataset_files import read_split

    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise EvaluationError(
            f"Dataset folder {folder} does not exist; prepare one with 'ift-desktop prepare' or pick another folder."
        )
    if not (folder / f"{split}.jsonl").is_file():
        present = sorted(p.stem for p in folder.glob("*.jsonl"))
        known = ", ".join(present) if present else "none"
        raise EvaluationError(
            f"Dataset folder {folder} has no '{split}' split ({split}.jsonl); splits there: {known}. "
            f"Choose one of them with --split."
        )
    if limit is not None and limit < 1:
        raise EvaluationError(f"--limit is {limit}; it must be at least 1 (or left out for the whole split).")
    rows = read_split(folder, split)
    if not rows:
        raise EvaluationError(
            f"The '{split}' split of {folder} is empty; prepare the dataset again with a {split} share above 0 "
            f"(e.g. --{'val' if split == 'validation' else split} 0.1) or evaluate another split with --split."
        )
    rows = rows[:limit] if limit else rows
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
            raise EvaluationError(
                f"Line {number} of {folder / (split + '.jsonl')} has no 'prompt' text; re-prepare it."
            )
        if not example_references(row):
            raise EvaluationError(
                f"Line {number} of {folder / (split + '.jsonl')} has neither 'completion' nor 'references'; "
                f"re-prepare the dataset."
            )
    return rows


def example_references(row: dict) -> list[str]:
    """The row's references: its ``references`` list when present, else ``[completion]``."""
    from ..data.dataset_files import references_of

    if not isinstance(row.get("completion"), str) and not row.get("references"):
        return []
    return [str(r) for r in references_of(row)]


def _model_record(spec) -> tuple[str, str | None, dict]:
    """(model label, run folder or None, details) for the result header; checks run folders."""
    from ..models.loading import run_parts
    from ..models.spec import read_run_record

    if spec.source != "run":
        return str(spec), None, spec.to_dict()
    run_dir = Path(spec.name_or_path)
    record = read_run_record(run_dir)
    if (
        not (run_dir / "adapter" / "adapter_config.json").is_file()
        and not (run_dir / "model" / "config.json").is_file()
    ):
        status = record.get("status", "unknown")
        raise EvaluationError(
            f"Run folder {run_dir} has no trained model (no adapter/ or model/ folder; status: {status}); "
            f"pick a finished run, or resume this one with 'ift-desktop train --resume'."
        )
    base, adapter, full = run_parts(run_dir)
    config = record.get("config") if isinstance(record.get("config"), dict) else {}
    details = spec.to_dict()
    details.update(
        base_model=base.to_dict(),
        method=config.get("method") or ("lora" if adapter is not None else "full"),
        weights=str(adapter if adapter is not None else full),
        use_chat_template=config.get("use_chat_template"),  # how training formatted the prompts
    )
    return str(base), str(run_dir), details


# ------------------------------------------------------------------------------------------------
# scoring extras


def _normalise(text: str) -> str:
    return " ".join(str(text).lower().split()).strip(" .!?\"'")


def exact_match(predictions: list[str], references: list[list[str]]) -> list[bool]:
    """Whether each prediction equals one of its references after case/space/end-punctuation folding."""
    return [_normalise(p) in {_normalise(r) for r in refs} for p, refs in zip(predictions, references)]


def _by_task(examples: list[dict], tasks: list[str], matches: list[bool]) -> dict:
    groups: dict[str, list[int]] = {}
    for i, task in enumerate(tasks):
        groups.setdefault(task or "unknown", []).append(i)
    out = {}
    for task, idx in groups.items():
        entry = {"n": len(idx), "exact_match": sum(matches[i] for i in idx) / len(idx)}
        for key in ROUGE_KEYS:
            entry[key] = sum(float(examples[i][key]["fmeasure"]) for i in idx) / len(idx)
        entry["bleu"] = sum(float(examples[i].get("bleu", 0.0)) for i in idx) / len(idx)
        out[task] = entry
    return out


def _warnings(predictions: list[str], gen) -> list[dict]:
    """Generation notes, shaped like ``score``'s warnings (``code`` + ``message``)."""
    notes = []
    cut = sum(gen.truncated)
    if cut:
        notes.append(
            {
                "code": "prompt_truncated",
                "message": f"{cut} prompts were longer than the model's context allows and were shortened in the middle.",
            }
        )
    unfinished = sum(1 for s in gen.stopped if not s)
    if unfinished:
        notes.append(
            {
                "code": "max_new_tokens_reached",
                "message": f"{unfinished} of {len(predictions)} answers hit max_new_tokens ({gen.settings.max_new_tokens}) "
                f"before the model ended them; raise it if answers look cut off.",
            }
        )
    return notes


# ------------------------------------------------------------------------------------------------
# the evaluation


def evaluate(
    *,
    model,
    data_dir: str | Path,
    split: str = "test",
    limit: int | None = None,
    max_new_tokens: int = 128,
    batch_size: int = 8,
    settings: GenerationSettings | None = None,
    use_stemmer: bool = True,
    rouge_tokenizer: str = "default",
    device: str | None = None,
    loaded=None,
    state: TaskState | None = None,
) -> dict:
    """Generate on ``split`` of ``data_dir`` with ``model`` and score it; returns the contract's JSON.

    ``model`` is a :class:`ModelSpec` or what ``ModelSpec.parse`` accepts (``builtin``, a Hub id, a
    model folder or a run folder). ``settings`` overrides ``max_new_tokens``. ``loaded`` lets the
    caller pass a model it already holds (the Playground, the Evaluate page comparing two runs).
    ``rouge_tokenizer="unicode"`` scores non-Latin text (not comparable with published ROUGE).
    """
    from ..models.spec import ModelSpec
    from .metrics import score

    started = time.perf_counter()
    spec = model if isinstance(model, ModelSpec) else ModelSpec.parse(model)
    settings = settings or GenerationSettings(max_new_tokens=max_new_tokens)
    rows = load_split_rows(data_dir, split, limit)
    label, run_dir, details = _model_record(spec)
    trained_with = details.get("use_chat_template")
    if settings.use_chat_template is None and trained_with is not None:  # prompt exactly as the run was trained
        settings = dataclasses.replace(settings, use_chat_template=bool(trained_with))
    if state is not None:
        state.report(0.0, f"Loading {spec.display_name}")

    loaded, load_s = _load_for_evaluation(spec, loaded, device, details, span(state, 0.0, 0.15))

    prompts = [row["prompt"] for row in rows]
    references = [example_references(row) for row in rows]
    gen = generate(loaded, prompts, settings, batch_size=batch_size, state=span(state, 0.15, 0.9))

    if state is not None:
        state.check_cancelled()
        state.report(0.9, "Scoring (ROUGE, BLEU, overlaps)")
    t0 = time.perf_counter()
    scored = score(
        gen.texts, references, use_stemmer=use_stemmer, tokenizer=rouge_tokenizer, state=span(state, 0.9, 1.0)
    )
    score_s = time.perf_counter() - t0

    matches = exact_match(gen.texts, references)
    tasks = [str(row.get("task") or "") for row in rows]
    examples = _example_records(rows, references, gen, scored["examples"], matches)

    result = {
        "schema_version": SCHEMA_VERSION,
        "kind": "evaluation",
        "created": now_iso(),
        "model": label,
        "model_details": details,
        "run": run_dir,
        "split": split,
        "data": _data_record(data_dir, split, rows, limit),
        "generation": {**settings.to_dict(), "batch_size": batch_size, "chat_template": gen.chat_template},
        "use_stemmer": bool(use_stemmer),
        "corpus": scored["corpus"],
        "exact_match": sum(matches) / len(matches),
        "by_task": _by_task(scored["examples"], tasks, matches) if len(set(tasks)) > 1 else None,
        "confidence": scored.get("confidence"),
        "metric_settings": scored.get("settings"),
        "warnings": list(scored.get("warnings") or []) + _warnings(gen.texts, gen),
        "timings": {
            "load_s": round(load_s, 3),
            **gen.timings(),
            "score_s": round(score_s, 3),
            "total_s": round(time.perf_counter() - started, 3),
        },
        "versions": library_versions("rouge_score", "sacrebleu"),
        "examples": examples,
    }
    if state is not None:
        state.report(1.0, "Evaluation finished")
    return result


def _load_for_evaluation(spec, loaded, device: str | None, details: dict, state: TaskState | None):
    """(the model, seconds spent loading it): ``loaded`` when the caller holds one, else ``spec`` loaded
    with a LoRA adapter folded in. What was loaded is noted in ``details``."""
    load_s = 0.0
    if loaded is None:
        from .sides import load_for_scoring

        t0 = time.perf_counter()
        loaded, merged = load_for_scoring(spec, device=device, state=state)
        if merged:
            details["adapter_merged"] = True
        load_s = time.perf_counter() - t0
    details.update(
        is_seq2seq=bool(loaded.is_seq2seq),
        device=str(getattr(loaded, "device", "")),
        dtype=str(getattr(loaded, "dtype", "")).replace("torch.", ""),
        context_length=getattr(loaded, "context_length", None),
    )
    return loaded, load_s


def _example_records(
    rows: list[dict], references: list[list[str]], gen, metrics: list[dict], matches: list
) -> list[dict]:
    """Each example as the contract writes it: prompt, prediction, references, task, scores."""
    examples = []
    for i, (row, metric) in enumerate(zip(rows, metrics)):
        example = {"index": i, "prompt": row["prompt"], "prediction": gen.texts[i], "references": references[i]}
        if row.get("task"):
            example["task"] = row["task"]
        example.update(metric)
        example["exact_match"] = matches[i]
        example["new_tokens"] = gen.new_tokens[i]
        examples.append(example)
    return examples


def _data_record(data_dir, split: str, rows: list[dict], limit: int | None) -> dict:
    from ..data.dataset_files import read_manifest

    folder = Path(data_dir).expanduser().resolve()
    try:
        manifest = read_manifest(folder)
    except Exception:  # an evaluation does not need the manifest; a missing one is recorded as such
        manifest = {}
    keep = ("source", "task", "template", "seed", "counts", "mapping")
    return {
        "dir": str(folder),
        "split": split,
        "n_examples": len(rows),
        "limit": limit,
        "manifest": {k: manifest[k] for k in keep if k in manifest},
    }


def write_evaluation(result: dict, path: str | Path) -> Path:
    """Write an evaluation JSON atomically (a previous file is replaced whole or kept)."""
    return atomic_write_json(path, result, indent=1)


def read_evaluation(path: str | Path) -> dict:
    """Read an evaluation written by :func:`write_evaluation`, with a clear error if it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvaluationError(f"Evaluation file {path} does not exist; run an evaluation first.") from None
    except (OSError, ValueError) as exc:
        raise EvaluationError(
            f"Evaluation file {path} is not readable JSON ({exc}); run the evaluation again."
        ) from None
    if not isinstance(data, dict) or "corpus" not in data or not isinstance(data.get("examples"), list):
        raise EvaluationError(f"{path} is not an evaluation result (no 'corpus' and 'examples'); pick another file.")
    return data
