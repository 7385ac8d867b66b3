"""`ift-desktop forgetting`: the Forgetting tab's check, headless, writing the same JSON.

``forgetting --run RUN --check mmlu|classification|task [check options] --out FILE.json`` (DESIGN.md)
scores the run's base model, then the fine-tuned run, on a held-out check and writes what the tab
writes (:func:`ift_desktop.core.evaluation.forgetting.check_forgetting`, the one function both call):
``overall``, ``groups``, ``test``, ``verdict``, ``summary`` and both sides' answers.

- ``--check classification`` with no ``--data``: the built-in check, the sample's 200 labelled reviews
  (the tab's preselected choice). With ``--data FILE|hf:NAME[:CONFIG]`` give ``--text-column``,
  ``--label-column`` and, for numeric labels, ``--labels``.
- ``--check mmlu --data DIR``: a folder of MMLU CSVs (``--subjects``, ``--shots``, ``--limit`` per subject);
  with no ``--data`` the built-in everyday-knowledge set (40 questions written for the app).
- ``--check task --data DIR``: a prepared dataset of another task, answered and scored with ROUGE-L.
"""

from __future__ import annotations

import argparse

from ift_desktop.core.errors import EvaluationError

from .evaluate import _positive, check_output, run_spec
from .progress import TerminalProgress

CHECKS = ("mmlu", "classification", "task")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run", required=True, metavar="RUN", help="the fine-tuned run (its base model is scored first)"
    )
    parser.add_argument(
        "--check",
        required=True,
        choices=CHECKS,
        help="classification (default data: the built-in sample reviews), mmlu or task",
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="classification: a labelled file, hf:NAME[:CONFIG] or sample:reviews (default); "
        "mmlu: the folder of MMLU CSVs (default: the built-in everyday-knowledge set); "
        "task: a prepared dataset folder",
    )
    parser.add_argument("--base", metavar="MODEL", help="score this base model instead of the one in run.json")
    parser.add_argument(
        "--limit",
        type=_positive,
        metavar="N",
        help="rows (classification, default 200), questions per subject (mmlu, default 40; "
        "the built-in set: all 40) or examples (task, default 40)",
    )
    parser.add_argument(
        "--shots", type=int, metavar="K", help="worked examples before each item (classification 0, mmlu 5)"
    )
    parser.add_argument("--batch-size", type=_positive, metavar="N", help="items scored together")
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--out", required=True, metavar="FILE.json", help="where to write the result JSON")
    cls = parser.add_argument_group("classification")
    cls.add_argument("--text-column", metavar="C", help="the text column (built-in reviews: review)")
    cls.add_argument("--label-column", metavar="L", help="the label column (built-in reviews: sentiment)")
    cls.add_argument(
        "--labels", metavar="A,B", help="words of numeric labels 0, 1, ... in order (SST-2: negative,positive)"
    )
    cls.add_argument(
        "--template", metavar="NAME", help="a classification prompt template (default: the task's default)"
    )
    cls.add_argument(
        "--split",
        help="split of a Hub dataset (classification, default validation) or of a task dataset (default test)",
    )
    mmlu = parser.add_argument_group("mmlu")
    mmlu.add_argument("--subjects", metavar="A,B", help="comma-separated subjects (default: all in --data)")
    task = parser.add_argument_group("task")
    task.add_argument("--max-new-tokens", type=_positive, default=64, metavar="N", help="longest answer (default 64)")


def build_check(args):
    """The check the arguments describe (the same dataclasses the tab builds)."""
    from ift_desktop.core.evaluation.forgetting import (
        BUILTIN_REVIEWS,
        ClassificationCheck,
        MMLUCheck,
        TaskCheck,
        builtin_checks_dir,
    )
    from ift_desktop.core.evaluation.inputs import words

    kwargs = {k: v for k, v in (("limit", args.limit), ("batch_size", args.batch_size)) if v is not None}
    if args.check == "classification":
        source = args.data or BUILTIN_REVIEWS
        if source != BUILTIN_REVIEWS and not (args.text_column and args.label_column):
            raise EvaluationError("Name the columns of --data with --text-column and --label-column.")
        builtin = source == BUILTIN_REVIEWS
        return ClassificationCheck(
            source,
            args.text_column or ("review" if builtin else ""),
            args.label_column or ("sentiment" if builtin else ""),
            labels=words(args.labels),
            template=args.template,
            shots=args.shots or 0,
            split=args.split or "validation",
            **kwargs,
        )
    if args.check == "mmlu":
        kwargs.setdefault("limit", None if not args.data else 40)
        return MMLUCheck(
            args.data or str(builtin_checks_dir()),
            subjects=words(args.subjects),
            shots=5 if args.shots is None else args.shots,
            **kwargs,
        )
    if not args.data:
        raise EvaluationError(
            "--check task needs --data: a prepared dataset folder of a task the run was not trained on."
        )
    return TaskCheck(args.data, split=args.split or "test", max_new_tokens=args.max_new_tokens, **kwargs)


def run(args) -> int:
    from ift_desktop.core.evaluation.forgetting import caveats, check_forgetting

    out = check_output(args.out)
    run_dir = run_spec(args.run).name_or_path
    check = build_check(args)
    progress = TerminalProgress()
    try:
        result = check_forgetting(
            run_dir, check, out_path=out, base_model=args.base, device=args.device, state=progress.state()
        )
    finally:
        progress.clear()
    overall = result["overall"]

    def side(name: str) -> str:
        ci = overall.get(f"{name}_ci95")
        return f"{100 * overall[name]:.1f}" + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")

    delta = f"{100 * overall['delta']:+.1f}"
    if overall.get("delta_low") is not None:
        delta += f" [{100 * overall['delta_low']:+.1f}, {100 * overall['delta_high']:+.1f}]"
    print(result["summary"])
    print(
        f"{result['metric_label']} × 100 on {overall['n']} items of {result['check']['label']}: "
        f"base {side('base')} → fine-tuned {side('tuned')}, change {delta} (95% intervals)"
    )
    for group in result["groups"]:
        d = "—" if group["delta"] is None else f"{100 * group['delta']:+.1f}"
        b = "—" if group["base"] is None else f"{100 * group['base']:.1f}"
        t = "—" if group["tuned"] is None else f"{100 * group['tuned']:.1f}"
        print(f"  {group['name']}: n {group['n']}, base {b}, tuned {t}, change {d}")
    for note in caveats(result):
        print(f"note: {note}")
    print(f"written to {out}")
    return 0
