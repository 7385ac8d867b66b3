"""`ift-desktop benchmark`: held-out benchmarks that show what fine-tuning cost elsewhere.

``benchmark mmlu --data DIR --model MODEL [--run RUN] [--shots K] --out FILE.json`` (DESIGN.md):
MMLU-style multiple choice scored by the log-likelihood of the answer letters. ``--model`` is scored;
with ``--run`` the run's fine-tuned model is scored as well and the file also holds the comparison
(``base``, ``comparison``: accuracy per subject before/after and an exact McNemar test), the
catastrophic-forgetting view. ``--subjects a,b`` picks subjects; ``--limit N`` takes the first N test
questions of each. Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import gc
from dataclasses import replace

from ift_desktop.core.errors import EvaluationError

from .evaluate import TerminalProgress, _positive, add_trust_argument, check_output, run_spec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    benchmarks = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    benchmarks.required = True
    mmlu = benchmarks.add_parser("mmlu", help="MMLU-style multiple choice by log-likelihood of the answer letters",
                                 description="MMLU-style multiple choice by log-likelihood of the answer letters.")
    mmlu.add_argument("--data", required=True, metavar="DIR",
                      help="folder of MMLU CSVs (<subject>_dev.csv, <subject>_test.csv; no header)")
    mmlu.add_argument("--model", metavar="MODEL",
                      help="'builtin', a Hub id or a model folder (the base model when --run is given)")
    mmlu.add_argument("--run", metavar="RUN", help="a training run: score it too and compare it with --model")
    mmlu.add_argument("--shots", type=int, default=5, metavar="K", help="worked examples from the dev file before each question (0-5; default 5)")
    mmlu.add_argument("--subjects", metavar="A,B", help="comma-separated subjects (default: every *_test.csv in --data)")
    mmlu.add_argument("--limit", type=_positive, metavar="N", help="first N test questions per subject")
    mmlu.add_argument("--batch-size", type=_positive, default=4, metavar="N", help="questions scored together (default 4)")
    mmlu.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    add_trust_argument(mmlu)
    mmlu.add_argument("--out", required=True, metavar="FILE.json", help="where to write the result JSON")


def _score_model(spec, args, subjects, progress: TerminalProgress, label: str) -> dict:
    from ift_desktop.core.evaluation.evaluate import span_state
    from ift_desktop.core.evaluation.mmlu import run_mmlu
    from ift_desktop.core.models import load_model

    state = progress.state()
    loaded = load_model(spec, device=args.device, state=span_state(state, 0.0, 0.1))
    try:
        result = run_mmlu(loaded, args.data, shots=args.shots, subjects=subjects, limit=args.limit,
                          batch_size=args.batch_size, state=span_state(state, 0.1, 1.0))
    finally:
        del loaded
        gc.collect()
    result["model"] = label
    return result


def run(args) -> int:
    from ift_desktop.core.atomic import atomic_write_json
    from ift_desktop.core.evaluation.mmlu import compare, list_subjects
    from ift_desktop.core.models import ModelSpec
    from ift_desktop.core.models.loading import run_parts

    out = check_output(args.out)
    if not args.model and not args.run:
        raise EvaluationError("Give --model MODEL (and optionally --run RUN to compare a fine-tuned run with it).")
    if not 0 <= args.shots <= 5:
        raise EvaluationError(f"--shots is {args.shots}; MMLU's dev files hold 5 examples per subject, so use 0 to 5.")
    available = list_subjects(args.data)  # a missing or empty data folder stops here, before any model loads
    subjects = [s.strip() for s in args.subjects.split(",") if s.strip()] if args.subjects else None
    if subjects:
        unknown = [s for s in subjects if s not in available]
        if unknown:
            raise EvaluationError(f"Unknown subject(s) {', '.join(unknown)}; available: {', '.join(available)}.")
    trust = bool(args.trust_remote_code)
    tuned_spec = run_spec(args.run, trust_remote_code=trust) if args.run else None
    base_spec = (ModelSpec.parse(args.model, trust_remote_code=trust) if args.model
                 else replace(run_parts(tuned_spec.name_or_path)[0], trust_remote_code=trust))
    if tuned_spec is not None:
        run_parts(tuned_spec.name_or_path)  # a run without a saved model stops here, before the long base pass

    progress = TerminalProgress()
    try:
        base = _score_model(base_spec, args, subjects, progress, str(base_spec))
        base["run"] = None
        result = base
        if tuned_spec is not None:
            tuned = _score_model(tuned_spec, args, subjects, progress, str(base_spec))
            tuned["run"] = tuned_spec.name_or_path
            tuned["base"] = base
            tuned["comparison"] = compare(base, tuned)
            result = tuned
    finally:
        progress.clear()
    atomic_write_json(out, result, indent=1)

    def line(res: dict, name: str) -> str:
        subjects_text = ", ".join(f"{s} {v['accuracy']:.3f}" for s, v in res["subjects"].items())
        return f"{name}: accuracy {res['accuracy']:.3f} ({res['correct']}/{res['n']}, {res['shots']}-shot) — {subjects_text}"

    print(line(base, str(base_spec)))
    if tuned_spec is not None:
        comp = result["comparison"]
        print(line(result, tuned_spec.display_name))
        print(f"change {comp['overall']['delta']:+.3f} (McNemar p = {comp['paired']['mcnemar_p']:.3g}): {comp['verdict']}")
    print(f"written to {out}")
    return 0
