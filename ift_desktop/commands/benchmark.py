"""`ift-desktop benchmark`: held-out benchmarks that show what fine-tuning cost elsewhere.

``benchmark mmlu --data DIR --model MODEL [--run RUN] [--shots K] --out FILE.json`` (DESIGN.md):
MMLU-style multiple choice scored by the log-likelihood of the answer letters. ``--model`` is scored;
with ``--run`` the run's fine-tuned model is scored as well and the file also holds the comparison
(``base``, ``comparison``: accuracy per subject before/after and an exact McNemar test), the
catastrophic-forgetting view. ``--subjects a,b`` picks subjects; ``--limit N`` takes the first N test
questions of each.

``benchmark classification --data FILE --text-column C --label-column L [--labels a,b] [--shots K]
--model MODEL [--run RUN] [--limit N] --out FILE.json``: GLUE-style classification scored by the
log-likelihood of each label word after the prompt (formatted as the app formats prompts); accuracy
with a 95 % interval, per-class accuracy and the confusion matrix; with ``--run`` also the
fine-tuned model and the comparison. ``--data`` may be a CSV/TSV/JSON/JSONL/Parquet file,
``hf:NAME[:CONFIG]`` (with ``--split``) or ``sample:reviews``.

Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from ift_desktop.core.errors import EvaluationError

from .evaluate import _positive, add_trust_argument, check_output, run_spec
from .progress import TerminalProgress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    benchmarks = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    benchmarks.required = True
    mmlu = benchmarks.add_parser(
        "mmlu",
        help="MMLU-style multiple choice by log-likelihood of the answer letters",
        description="MMLU-style multiple choice by log-likelihood of the answer letters.",
    )
    mmlu.add_argument(
        "--data",
        required=True,
        metavar="DIR",
        help="folder of MMLU CSVs (<subject>_dev.csv, <subject>_test.csv; no header)",
    )
    mmlu.add_argument(
        "--model", metavar="MODEL", help="'builtin', a Hub id or a model folder (the base model when --run is given)"
    )
    mmlu.add_argument("--run", metavar="RUN", help="a training run: score it too and compare it with --model")
    mmlu.add_argument(
        "--shots",
        type=int,
        default=5,
        metavar="K",
        help="worked examples from the dev file before each question (0-5; default 5)",
    )
    mmlu.add_argument(
        "--subjects", metavar="A,B", help="comma-separated subjects (default: every *_test.csv in --data)"
    )
    mmlu.add_argument("--limit", type=_positive, metavar="N", help="first N test questions per subject")
    mmlu.add_argument(
        "--batch-size", type=_positive, default=4, metavar="N", help="questions scored together (default 4)"
    )
    mmlu.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    add_trust_argument(mmlu)
    mmlu.add_argument("--out", required=True, metavar="FILE.json", help="where to write the result JSON")
    mmlu.set_defaults(_benchmark=run_mmlu_benchmark)
    _add_classification(benchmarks)


def _add_classification(benchmarks) -> None:
    cls = benchmarks.add_parser(
        "classification",
        help="GLUE-style classification by the log-likelihood of each label word",
        description="GLUE-style classification (e.g. SST-2) by the log-likelihood of each label word after the prompt.",
    )
    cls.add_argument(
        "--data",
        required=True,
        metavar="FILE",
        help="a labelled CSV/TSV/JSON/JSONL/Parquet file, hf:NAME[:CONFIG] or sample:reviews",
    )
    cls.add_argument("--text-column", required=True, metavar="C", help="the column holding the text to classify")
    cls.add_argument("--label-column", required=True, metavar="L", help="the column holding the gold label")
    cls.add_argument(
        "--labels",
        metavar="A,B",
        help="label words: for numeric labels the word of 0, 1, ... in order (SST-2: negative,positive); "
        "for word labels the words to use",
    )
    cls.add_argument(
        "--template", metavar="NAME", help="a classification prompt template (default: the task's default)"
    )
    cls.add_argument(
        "--shots", type=int, default=0, metavar="K", help="solved rows from the file before each prompt (default 0)"
    )
    cls.add_argument(
        "--model", metavar="MODEL", help="'builtin', a Hub id or a model folder (the base model when --run is given)"
    )
    cls.add_argument("--run", metavar="RUN", help="a training run: score it too and compare it with --model")
    cls.add_argument("--limit", type=_positive, metavar="N", help="first N rows")
    cls.add_argument("--split", default="validation", help="split of a Hub dataset (default validation)")
    cls.add_argument("--seed", type=int, default=0, help="seed of the shot choice (default 0)")
    cls.add_argument("--batch-size", type=_positive, default=8, metavar="N", help="rows scored together (default 8)")
    cls.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    cls.add_argument("--out", required=True, metavar="FILE.json", help="where to write the result JSON")
    cls.set_defaults(_benchmark=run_classification_benchmark)


def run(args) -> int:
    return args._benchmark(args)


def _base_and_tuned(args):
    """The base model and the fine-tuned run (or None) that ``--model`` / ``--run`` name; a run without a saved
    model stops here, before the long base pass. Remote code only with this command's own consent."""
    from ift_desktop.core.models import ModelSpec
    from ift_desktop.core.models.loading import run_parts

    trust = bool(getattr(args, "trust_remote_code", False))
    tuned = run_spec(args.run, trust_remote_code=trust) if args.run else None
    base = (
        ModelSpec.parse(args.model, trust_remote_code=trust)
        if args.model
        else replace(run_parts(tuned.name_or_path)[0], trust_remote_code=trust)
    )
    if tuned is not None:
        run_parts(tuned.name_or_path)
    return base, tuned


def _require_model(args) -> None:
    if not args.model and not args.run:
        raise EvaluationError("Give --model MODEL (and optionally --run RUN to compare a fine-tuned run with it).")


def _score_and_compare(args, base_spec, tuned_spec, score, compare) -> tuple[dict, dict]:
    """(the file's record, the base's result): the base model scored, then the run when given (the scorer the
    forgetting check uses), and the comparison (:mod:`ift_desktop.core.evaluation.comparison`)."""
    from ift_desktop.core.evaluation.sides import score_sides

    specs = [base_spec] + ([tuned_spec] if tuned_spec is not None else [])
    progress = TerminalProgress()
    try:
        sides = score_sides(specs, score, device=args.device, state=progress.state())
    finally:
        progress.clear()
    base = sides[0].result
    base["model"], base["run"] = str(base_spec), None
    if tuned_spec is None:
        return base, base
    tuned = sides[1].result
    tuned["model"], tuned["run"] = str(base_spec), tuned_spec.name_or_path
    tuned["base"] = base
    tuned["comparison"] = compare(base, tuned)
    return tuned, base


def run_mmlu_benchmark(args) -> int:
    from ift_desktop.core.atomic import atomic_write_json
    from ift_desktop.core.evaluation.forgetting import MMLUCheck, mmlu_scorer, validate_check
    from ift_desktop.core.evaluation.inputs import words
    from ift_desktop.core.evaluation.mmlu import compare

    out = check_output(args.out)
    _require_model(args)
    check = MMLUCheck(
        args.data, subjects=words(args.subjects), shots=args.shots, limit=args.limit, batch_size=args.batch_size
    )
    validate_check(check)  # a missing or empty data folder, an unknown subject stop here, before any model loads
    base_spec, tuned_spec = _base_and_tuned(args)
    result, base = _score_and_compare(args, base_spec, tuned_spec, mmlu_scorer(check), compare)
    atomic_write_json(out, result, indent=1)

    def line(res: dict, name: str) -> str:
        subjects_text = ", ".join(f"{s} {v['accuracy']:.3f}" for s, v in res["subjects"].items())
        return f"{name}: accuracy {res['accuracy']:.3f} ({res['correct']}/{res['n']}, {res['shots']}-shot) — {subjects_text}"

    print(line(base, str(base_spec)))
    if tuned_spec is not None:
        comp = result["comparison"]
        print(line(result, tuned_spec.display_name))
        print(
            f"change {comp['overall']['delta']:+.3f} (McNemar p = {comp['paired']['mcnemar_p']:.3g}): {comp['verdict']}"
        )
    print(f"written to {out}")
    return 0


def _interval(ci) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _classification_line(result: dict, name: str) -> str:
    classes = ", ".join(
        f"{label} {c['accuracy']:.3f} (n {c['n']})"
        for label, c in result["per_class"].items()
        if c["accuracy"] is not None
    )
    return (
        f"{name}: accuracy {result['accuracy']:.3f} {_interval(result['ci95'])} 95% CI "
        f"({result['correct']}/{result['n']}, {result['shots']}-shot) — {classes}"
    )


def _confusion_lines(result: dict) -> list[str]:
    labels = result["confusion"]["labels"]
    width = max(len(w) for w in labels + ["true \\ predicted"])
    lines = ["  " + "true \\ predicted".ljust(width) + "".join(f"  {w:>10}" for w in labels)]
    for label, row in zip(labels, result["confusion"]["matrix"]):
        lines.append("  " + label.ljust(width) + "".join(f"  {v:>10}" for v in row))
    return lines


def run_classification_benchmark(args) -> int:
    from ift_desktop.core.atomic import atomic_write_json
    from ift_desktop.core.evaluation.classification import compare
    from ift_desktop.core.evaluation.forgetting import (
        ClassificationCheck,
        classification_scorer,
        trained_chat_template,
        validate_check,
    )
    from ift_desktop.core.evaluation.inputs import words

    out = check_output(args.out)
    _require_model(args)
    check = ClassificationCheck(
        args.data,
        args.text_column,
        args.label_column,
        labels=words(args.labels),
        template=args.template,
        shots=args.shots,
        split=args.split,
        limit=args.limit,
        batch_size=args.batch_size,
    )
    rows = validate_check(check)  # an unknown template, bad columns or labels stop here, before any model loads
    base_spec, tuned_spec = _base_and_tuned(args)
    chat = trained_chat_template(tuned_spec.name_or_path) if tuned_spec is not None else None
    score = classification_scorer(check, rows, chat, seed=args.seed)
    result, base = _score_and_compare(args, base_spec, tuned_spec, score, compare)
    atomic_write_json(out, result, indent=1)

    print(_classification_line(base, str(base_spec)))
    print("\n".join(_confusion_lines(base)))
    if tuned_spec is not None:
        comp = result["comparison"]
        print(_classification_line(result, tuned_spec.display_name))
        print("\n".join(_confusion_lines(result)))
        print(
            f"change {comp['overall']['delta']:+.3f} {_interval(comp['overall']['delta_ci95'])} 95% CI "
            f"(McNemar p = {comp['paired']['mcnemar_p']:.3g}): {comp['verdict']}"
        )
    print(f"majority class {base['chance']:.3f}; template {base['template']}; written to {out}")
    return 0
