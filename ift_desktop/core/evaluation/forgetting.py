"""The catastrophic-forgetting check: what did fine-tuning cost on tasks it was *not* trained for?

:func:`check_forgetting` takes a training run, loads its base model, scores it on a held-out check,
frees it, loads the fine-tuned model (base + adapter, or full weights) and scores it on the same
items, then compares the two with a paired test and saves the result as one JSON file under
``<workspace>/evaluations/forgetting/`` (kept apart from the evaluations the Evaluate page lists).

Three kinds of check:

* :class:`MMLUCheck` — MMLU-style multiple choice by log-likelihood (:mod:`.mmlu`): accuracy per
  subject, overall, and an exact McNemar test on the paired right/wrong answers.
* :class:`ClassificationCheck` — GLUE-style classification by the log-likelihood of each label word
  (:mod:`.classification`): a labelled file, a Hub dataset, or the built-in sample's reviews (the
  check that works out of the box, :func:`builtin_checks`); accuracy per class and overall, exact
  McNemar test.
* :class:`TaskCheck` — another instruction task: a prepared dataset's split answered with greedy
  generation and scored with ROUGE-L (:func:`.evaluate.evaluate`), with the paired randomization
  test of :func:`.stats.paired_test`. Both models get the same prompt format (the run's own).

The result: ``overall`` (base, tuned, delta, in the check's metric as a 0..1 value), ``groups`` (per
subject or task: n, base, tuned, delta), ``test`` (name, p-value, counts), ``verdict``
(``forgetting`` / ``improved`` / ``no significant change``), a one-line ``summary`` in words, and the
two sides' own results (per-question answers) so the numbers can be re-checked.

The accuracy checks are the ones ``benchmark mmlu|classification --run`` runs too: the same check
objects (validated by :mod:`.inputs`), the same scorer (:func:`.sides.score_sides` with
:func:`mmlu_scorer` / :func:`classification_scorer`) and the same comparison (:mod:`.comparison`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..atomic import atomic_write_json
from ..errors import EvaluationError, UserError
from ..progress import TaskState, span
from ..provenance import now_iso
from .classification import compare as classification_compare
from .comparison import accuracy_record, verdict
from .inputs import (
    check_classification_shots,
    check_limit,
    check_mmlu_shots,
    check_shots_leave_rows,
    check_subjects_ticked,
    chosen_subjects,
)
from .mmlu import compare as mmlu_compare
from .sides import SIDE_NAMES, ScoredSide, free_memory, score_sides

SCHEMA_VERSION = 1


@dataclass
class MMLUCheck:
    """Multiple choice on a folder of MMLU CSVs (``<subject>_dev.csv`` + ``<subject>_test.csv``)."""

    data_dir: str
    subjects: list[str] | None = None  # None: every subject in the folder
    shots: int = 5
    limit: int | None = 40  # questions per subject
    batch_size: int = 4
    kind: str = field(default="mmlu", init=False)

    def __post_init__(self):
        check_mmlu_shots(self.shots)
        check_limit(self.limit, "Questions per subject")
        check_subjects_ticked(self.subjects)

    @property
    def label(self) -> str:
        return "built-in everyday knowledge" if self.is_builtin else "MMLU"

    @property
    def slug(self) -> str:
        return "everyday-knowledge" if self.is_builtin else "mmlu"

    @property
    def is_builtin(self) -> bool:
        return _source_key(self.data_dir) == _source_key(str(builtin_checks_dir()))


BUILTIN_REVIEWS = "sample:reviews"


@dataclass
class ClassificationCheck:
    """Classification by label-word log-likelihood: a labelled file, ``hf:NAME[:CONFIG]`` or the sample's reviews."""

    source: str = BUILTIN_REVIEWS
    text_column: str = "review"
    label_column: str = "sentiment"
    labels: list[str] | None = None  # words for numeric labels (0, 1, ...) in order, or the label words to use
    template: str | None = None  # a classification template; None = the task's default
    shots: int = 0
    split: str = "validation"  # for Hub datasets
    limit: int | None = 200
    batch_size: int = 8
    kind: str = field(default="classification", init=False)

    def __post_init__(self):
        if not str(self.source).strip():
            raise EvaluationError(
                "No labelled data chosen for the classification check; pick a file or the built-in reviews."
            )
        check_classification_shots(self.shots)
        check_limit(self.limit, "Rows")

    @property
    def label(self) -> str:
        if self.source == BUILTIN_REVIEWS:
            return "built-in reviews (sentiment)"
        if self.source.startswith("hf:"):
            return self.source[3:]
        return Path(self.source).name

    @property
    def slug(self) -> str:
        if self.source == BUILTIN_REVIEWS:
            return "reviews"
        return "".join(c if c.isalnum() or c in "-_." else "-" for c in self.label).strip("-") or "classification"


@dataclass
class BuiltinCheck:
    """A held-out check made from what the app ships: works with no files and no network."""

    name: str
    title: str
    description: str
    check: ClassificationCheck | MMLUCheck


def builtin_checks_dir() -> Path:
    from ..paths import resources_dir

    return resources_dir() / "checks"


def builtin_checks() -> list[BuiltinCheck]:
    """The checks offered first in the Forgetting tab: the sample's reviews (also the default of
    ``forgetting --check classification``) and a multiple-choice set written for the app."""
    return [
        BuiltinCheck(
            "reviews",
            "Sentiment of the sample's reviews",
            "200 short reviews from the built-in sample, labelled positive or negative, scored by which label word "
            "the model finds more likely. Held out when the run was trained on something else.",
            ClassificationCheck(),
        ),
        BuiltinCheck(
            "everyday-knowledge",
            "Everyday knowledge (multiple choice)",
            "40 easy general-knowledge questions written for the app, MMLU-style (A-D, 5 solved ones first), scored "
            "by the log-likelihood of the answer letter. Held out for every run.",
            MMLUCheck(str(builtin_checks_dir()), shots=5, limit=None),
        ),
    ]


@dataclass
class TaskCheck:
    """Another instruction task: a prepared dataset's split, generated greedily and scored with ROUGE-L."""

    data_dir: str
    split: str = "test"
    limit: int | None = 40
    max_new_tokens: int = 64
    batch_size: int = 8
    kind: str = field(default="task", init=False)

    def __post_init__(self):
        check_limit(self.limit, "Examples")
        if int(self.max_new_tokens) < 1:
            raise EvaluationError(f"Max new tokens is {self.max_new_tokens}; use at least 1 (64 suits short answers).")

    @property
    def label(self) -> str:
        return Path(self.data_dir).name

    @property
    def slug(self) -> str:
        return Path(self.data_dir).name


def forgetting_dir(evaluations_dir: str | Path) -> Path:
    """Where forgetting results live: a subfolder of the workspace's evaluations folder."""
    return Path(evaluations_dir) / "forgetting"


# ------------------------------------------------------------------------------------------------
# the check


def check_forgetting(
    run_dir: str | Path,
    check: MMLUCheck | ClassificationCheck | TaskCheck,
    *,
    out_dir: str | Path | None = None,
    out_path: str | Path | None = None,
    base_model=None,
    device: str | None = None,
    state: TaskState | None = None,
) -> dict:
    """Score the run's base model, then the fine-tuned one, on ``check``; save and return the comparison.

    ``base_model`` overrides the base named in the run's ``run.json`` (a ModelSpec or what
    ``ModelSpec.parse`` takes). The JSON is written atomically — to ``out_path``, or under a new name
    in ``out_dir`` — only when both sides finished; its path is in the result's ``path``.
    """
    started = time.perf_counter()
    run_dir = Path(run_dir).expanduser()
    base_spec, tuned_spec, method = _run_models(run_dir, base_model)
    if (out_dir is None) == (out_path is None):
        raise ValueError("give exactly one of out_dir and out_path")
    rows = validate_check(check)
    base, tuned, comparison = _score_and_compare(check, rows, base_spec, tuned_spec, run_dir, device, state)
    if state is not None:
        state.check_cancelled()
    result = {
        "schema_version": SCHEMA_VERSION,
        "kind": "forgetting",
        "created": now_iso(),
        "run": str(run_dir.resolve()),
        "run_name": run_dir.name,
        "method": method,
        "base_model": base_spec.to_dict(),
        "base_label": base_spec.display_name,
        "check": {
            **asdict(check),
            "kind": check.kind,
            "label": check.label,
            "in_training_data": trained_on_check_data(run_dir, check),
        },
        **comparison,
        "timings": {"total_s": round(time.perf_counter() - started, 3)},
        "base_result": base,
        "tuned_result": tuned,
    }
    result["summary"] = summary_line(result)
    path = _save(result, run_dir, check, out_dir, out_path)
    if state is not None:
        state.report(1.0, f"Saved {path.name}")
    return result


def _run_models(run_dir: Path, base_model):
    """(base spec, fine-tuned spec, "lora" | "full"): fails early when the run has no trained weights."""
    from ..models.loading import run_parts
    from ..models.spec import ModelSpec
    from ..training.run_folder import RunFolder

    if not RunFolder(run_dir).exists():
        raise EvaluationError(f"{run_dir} is not a training run (no run.json); pick a run from the Train page.")
    recorded_base, adapter, _full = run_parts(run_dir)
    if base_model is None:
        base_spec = recorded_base
    else:
        base_spec = base_model if isinstance(base_model, ModelSpec) else ModelSpec.parse(base_model)
    return base_spec, ModelSpec.parse(run_dir), "lora" if adapter is not None else "full"


def _score_and_compare(check, rows, base_spec, tuned_spec, run_dir: Path, device, state) -> tuple[dict, dict, dict]:
    """Both sides' results and their comparison, in the check's metric."""
    if check.kind == "task":
        base, tuned = _task_sides(check, base_spec, tuned_spec, run_dir, device, state)
        return base, tuned, _compare_task(base, tuned, check, state)
    if check.kind == "mmlu":
        score, compare, groups_key = mmlu_scorer(check), mmlu_compare, "subjects"
    else:
        chat = trained_chat_template(run_dir)  # both sides prompted as the run was trained
        score, compare, groups_key = classification_scorer(check, rows, chat), classification_compare, "classes"
    sides = score_sides([base_spec, tuned_spec], score, device=device, state=state)
    base, tuned = (_side_record(side) for side in sides)
    comparison = accuracy_record(compare(base, tuned), base, tuned, groups_key=groups_key)
    if check.kind == "classification":
        comparison["chance_label"] = base.get("chance_label")
    return base, tuned, comparison


def _save(result: dict, run_dir: Path, check, out_dir, out_path) -> Path:
    """Write the result atomically to ``out_path`` or under a new name in ``out_dir``; note the path in it."""
    if out_path is not None:
        path = Path(out_path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{_unique_stem(out, f'forgetting-{run_dir.name}-{check.slug}')}.json"
    atomic_write_json(path, result, indent=1)
    result["path"] = str(path)
    return path


def validate_check(check):
    """Fail before loading any model when the check's inputs are unusable; the rows of a classification check."""
    if check.kind == "classification":
        from .classification import classification_template, read_labelled

        classification_template(check.template)
        rows = read_labelled(
            check.source,
            check.text_column,
            check.label_column,
            labels=check.labels,
            split=check.split,
            limit=check.limit,
        )
        check_shots_leave_rows(check.shots, len(rows.texts))
        return rows
    if check.kind == "mmlu":
        chosen_subjects(check.data_dir, check.subjects)
    else:
        from .evaluate import load_split_rows

        load_split_rows(check.data_dir, check.split, check.limit)
    return None


def trained_on_check_data(run_dir: Path, check) -> bool:
    """Whether the run's training data came (partly) from the check's own source: then it is not held out."""
    from ..models.spec import read_run_record

    try:
        manifest = (read_run_record(run_dir).get("data") or {}).get("manifest") or {}
    except UserError:
        return False
    if not isinstance(manifest, dict):
        return False
    sources = [manifest.get("source"), manifest.get("origin")]
    sources += [c.get(k) for c in manifest.get("components") or [] if isinstance(c, dict) for k in ("source", "origin")]
    mine = _source_key(getattr(check, "source", None) or getattr(check, "data_dir", ""))
    for source in filter(None, sources):
        theirs = _source_key(str(source))
        if theirs == mine or (theirs == "sample" and mine.startswith("sample:")):
            return True
    return False


def _source_key(source: str) -> str:
    source = str(source).strip()
    if source.startswith(("sample", "hf:")):
        return source
    try:
        return str(Path(source).expanduser().resolve())
    except OSError:
        return source


def trained_chat_template(run_dir: str | Path) -> bool | None:
    """Whether the run was trained with the chat template (None: the tokenizer's default)."""
    from ..models.spec import read_run_record

    config = read_run_record(run_dir).get("config") or {}
    trained_with = config.get("use_chat_template") if isinstance(config, dict) else None
    return None if trained_with is None else bool(trained_with)


# ------------------------------------------------------------------------------------------------
# scoring the two sides


def mmlu_scorer(check: MMLUCheck):
    """``score(loaded, state)`` for :func:`.sides.score_sides`: the check's MMLU questions."""
    from .mmlu import run_mmlu

    def score(loaded, side_state):
        return run_mmlu(
            loaded,
            check.data_dir,
            shots=check.shots,
            subjects=check.subjects,
            limit=check.limit,
            batch_size=check.batch_size,
            state=side_state,
        )

    return score


def classification_scorer(check: ClassificationCheck, rows, use_chat_template: bool | None, seed: int = 0):
    """``score(loaded, state)`` for :func:`.sides.score_sides`: the check's rows, both sides prompted alike."""
    from .classification import run_classification

    def score(loaded, side_state):
        return run_classification(
            loaded,
            rows,
            template_name=check.template,
            shots=check.shots,
            seed=seed,
            batch_size=check.batch_size,
            use_chat_template=use_chat_template,
            state=side_state,
        )

    return score


def _side_record(side: ScoredSide) -> dict:
    """A side's result as the forgetting file keeps it: with the model's name and its load time."""
    side.result["model"] = side.spec.display_name
    side.result.setdefault("timings", {})["load_s"] = side.load_s
    return side.result


def _task_sides(check: TaskCheck, base_spec, tuned_spec, run_dir: Path, device, state) -> tuple[dict, dict]:
    """Both sides answer the task (greedy generation, :func:`.evaluate.evaluate` loads each in turn)."""
    from .evaluate import evaluate
    from .generation import GenerationSettings

    settings = GenerationSettings(
        max_new_tokens=check.max_new_tokens,
        use_chat_template=trained_chat_template(run_dir),  # both sides prompted alike
    )
    results = []
    for k, (side, spec) in enumerate(zip(SIDE_NAMES, (base_spec, tuned_spec))):
        result = evaluate(
            model=spec,
            data_dir=check.data_dir,
            split=check.split,
            limit=check.limit,
            settings=settings,
            batch_size=check.batch_size,
            device=device,
            state=span(state, k * 0.48, (k + 1) * 0.48, side),
        )
        results.append(_slim_evaluation(result))
        free_memory()
    return results[0], results[1]


def _slim_evaluation(result: dict) -> dict:
    """An evaluation without the overlap alignments: what the forgetting view and the paired test need."""
    keep = (
        "index",
        "task",
        "prompt",
        "prediction",
        "references",
        "rouge1",
        "rouge2",
        "rougeL",
        "rougeLsum",
        "bleu",
        "bleu_detail",
        "exact_match",
    )
    examples = [{k: e[k] for k in keep if k in e} for e in result["examples"]]
    slim = {k: v for k, v in result.items() if k not in ("examples", "versions")}
    slim["examples"] = examples
    return slim


def _unique_stem(folder: Path, base: str) -> str:
    from ..workspace.store import unique_name

    return unique_name(folder, base)


# ------------------------------------------------------------------------------------------------
# comparison (accuracy checks: :mod:`.comparison`; the task check: ROUGE-L, paired randomization)


def _compare_task(base: dict, tuned: dict, check: TaskCheck, state) -> dict:
    from .stats import paired_test

    paired = paired_test(base, tuned, state=state)
    rouge = paired["metrics"]["rougeL"]
    return {
        "metric": "rougeL",
        "metric_label": "ROUGE-L",
        "chance": None,
        "overall": {
            "base": rouge["base"],
            "tuned": rouge["tuned"],
            "delta": rouge["delta"],
            "n": paired["n"],
            "delta_low": rouge["low"],
            "delta_high": rouge["high"],
        },
        "groups": _task_groups(base, tuned, check.label),
        "test": {
            "name": "paired randomization",
            "description": paired["method"],
            "p_value": rouge["p_value"],
            "n": paired["n"],
            "only_base": rouge["losses"],  # examples where the base scored higher
            "only_tuned": rouge["wins"],
        },
        "verdict": verdict(rouge["delta"], rouge["p_value"]),
    }


def _task_groups(base: dict, tuned: dict, label: str) -> list[dict]:
    """Mean ROUGE-L per task of a mixture (one group, named after the check, for a single task)."""
    names: dict[str, list[int]] = {}
    for i, example in enumerate(base["examples"]):
        names.setdefault(str(example.get("task") or label), []).append(i)
    groups = []
    for name, idx in sorted(names.items()):
        b = sum(float(base["examples"][i]["rougeL"]["fmeasure"]) for i in idx) / len(idx)
        t = sum(float(tuned["examples"][i]["rougeL"]["fmeasure"]) for i in idx) / len(idx)
        groups.append({"name": name, "n": len(idx), "base": b, "tuned": t, "delta": t - b})
    return groups


def format_p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}" if p < 0.01 else f"= {p:.2f}"


def summary_line(result: dict) -> str:
    """The result in words, e.g. 'Fine-tuning cost 6.0 points on MMLU (McNemar p = 0.03): likely forgetting'."""
    delta = 100 * float(result["overall"]["delta"])
    label = result["check"]["label"]
    points = "points" if result["metric"] == "accuracy" else f"{result['metric_label']} points"
    test = result["test"]
    p = f"{test['name']} p {format_p(float(test['p_value']))}"
    verdict = result["verdict"]
    if abs(delta) < 0.05:
        what = "" if result["metric"] == "accuracy" else f" ({result['metric_label']})"
        change = f"Fine-tuning left {label}{what} unchanged"
    elif delta < 0:
        change = f"Fine-tuning cost {-delta:.1f} {points} on {label}"
    else:
        change = f"Fine-tuning gained {delta:.1f} {points} on {label}"
    word = {"forgetting": "likely forgetting", "improved": "a real improvement"}.get(verdict, "no significant change")
    return f"{change} ({p}): {word}"


def caveats(result: dict) -> list[str]:
    """Notes that keep the reader from over-reading the numbers."""
    notes = []
    if (result.get("check") or {}).get("in_training_data"):
        notes.append(
            "The run was trained on data from this check's source, so it is not held out: "
            "a gain here is learning, not retention. Pick a check the run never saw."
        )
    n = int(result["overall"].get("n") or 0)
    chance = result.get("chance")
    if chance is not None:
        ci = result["overall"].get("base_ci95") or [0, 1]
        if ci[0] <= chance <= ci[1]:
            what = result.get("chance_label") or "chance"
            notes.append(
                f"The base model is not clearly above {what} ({100 * chance:.0f} %) on these items, "
                "so there is little skill to lose: this check cannot show much forgetting."
            )
    if n and n < 100:
        notes.append(
            f"Only {n} paired items: differences of a few points are within noise; raise the limit to be sure."
        )
    return notes


# ------------------------------------------------------------------------------------------------
# stored results


def read_forgetting(path: str | Path) -> dict:
    """Read a stored forgetting result, with a clear error if it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvaluationError(f"Forgetting result {path} does not exist; run the check again.") from None
    except (OSError, ValueError) as exc:
        raise EvaluationError(f"Forgetting result {path} is not readable JSON ({exc}); run the check again.") from None
    if not isinstance(data, dict) or data.get("kind") != "forgetting" or "overall" not in data:
        raise EvaluationError(f"{path} is not a forgetting-check result; pick another file.")
    data["path"] = str(path)
    return data


def list_forgetting(folder: str | Path) -> list[dict]:
    """The stored results in ``folder``, newest first: ``{path, name, created, run_name, check, summary}``."""
    folder = Path(folder)
    items = []
    for file in folder.glob("*.json") if folder.is_dir() else []:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("kind") != "forgetting":
            continue
        items.append(
            {
                "path": str(file),
                "name": file.stem,
                "created": str(data.get("created") or ""),
                "mtime": file.stat().st_mtime,
                "run_name": data.get("run_name"),
                "check": (data.get("check") or {}).get("label"),
                "summary": data.get("summary") or "",
            }
        )
    return sorted(items, key=lambda item: item["mtime"], reverse=True)


def check_key(result: dict) -> str:
    """What makes two stored results answers to the same items: the check's kind, data and settings."""
    check = {k: v for k, v in (result.get("check") or {}).items() if k not in ("batch_size", "in_training_data")}
    return json.dumps(check, sort_keys=True, default=str)


def results_on_same_check(folder: str | Path, result: dict) -> list[dict]:
    """Every stored result in ``folder`` on the same check as ``result`` (itself included, first), then
    the others newest first: the rows of the tab's run comparison (e.g. single-task vs mixture)."""
    key = check_key(result)
    rows = [result]
    seen = {str(Path(result["path"]).resolve())} if result.get("path") else set()
    for item in list_forgetting(folder):
        if str(Path(item["path"]).resolve()) in seen:
            continue
        try:
            other = read_forgetting(item["path"])
        except UserError:
            continue
        if check_key(other) == key:
            rows.append(other)
    return rows
