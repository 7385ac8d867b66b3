"""`ift-desktop evaluate`: generate on a split with a model or a training run, and score it.

Contract (DESIGN.md): ``(--run RUN | --model MODEL) --data DIR [--split test] [--limit N]
[--max-new-tokens N] --out FILE.json``. Extras: ``--batch-size``, sampling (``--sample``,
``--temperature``, ``--top-p``, ``--top-k``, ``--seed``; greedy without ``--sample``),
``--no-stemmer``, ``--tokenizer unicode``, ``--chat-template auto|on|off``, ``--device``.
Writes the evaluation JSON atomically and prints the corpus scores on stdout. Bad input (a run
folder without a model, a missing data folder or split, an empty split) exits with status 2 and
one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ift_desktop.core.errors import EvaluationError

from .progress import TerminalProgress


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("generation (greedy unless --sample)")
    group.add_argument(
        "--max-new-tokens", type=_positive, default=128, metavar="N", help="longest answer in tokens (default 128)"
    )
    group.add_argument(
        "--batch-size", type=_positive, default=8, metavar="N", help="prompts generated together (default 8)"
    )
    group.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    group.add_argument(
        "--temperature", type=float, default=1.0, metavar="T", help="sampling temperature (with --sample)"
    )
    group.add_argument("--top-p", type=float, default=1.0, metavar="P", help="nucleus sampling share (with --sample)")
    group.add_argument(
        "--top-k", type=int, default=50, metavar="K", help="sample among the k likeliest tokens (with --sample)"
    )
    group.add_argument("--seed", type=int, default=42, metavar="N", help="random seed for sampling (recorded)")
    group.add_argument(
        "--chat-template",
        choices=("auto", "on", "off"),
        default="auto",
        help="wrap prompts in the tokenizer's chat template: auto = when it has one, as in training",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--run", metavar="RUN", help="a training run folder (base model + adapter, or full weights)")
    which.add_argument("--model", metavar="MODEL", help="'builtin', a Hugging Face Hub id, or a model folder")
    parser.add_argument("--data", required=True, metavar="DIR", help="a prepared dataset folder")
    parser.add_argument("--split", default="test", metavar="SPLIT", help="the split to evaluate (default test)")
    parser.add_argument("--limit", type=_positive, metavar="N", help="evaluate only the first N examples of the split")
    add_sampling_arguments(parser)
    parser.add_argument("--no-stemmer", action="store_true", help="turn off Porter stemming for ROUGE")
    parser.add_argument(
        "--tokenizer",
        choices=("default", "unicode"),
        default="default",
        help="ROUGE tokenizer; 'unicode' for non-Latin text (not comparable with published ROUGE)",
    )
    parser.add_argument("--device", metavar="DEVICE", help="cuda, mps or cpu (default: the best available)")
    add_trust_argument(parser)
    parser.add_argument("--out", required=True, metavar="FILE.json", help="where to write the evaluation JSON")


def add_trust_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow the model (or the run's model) to run the Python code it ships, for this "
        "command only; a run folder's own files never allow it (only for authors you trust)",
    )


def generation_settings(args):
    from ift_desktop.core.evaluation.generation import GenerationSettings

    chat = {"auto": None, "on": True, "off": False}[args.chat_template]
    return GenerationSettings(
        max_new_tokens=args.max_new_tokens,
        do_sample=args.sample,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        seed=args.seed,
        use_chat_template=chat,
    )


def check_output(path: str) -> Path:
    """Refuse, before any model loads, an output that is a folder, already exists, or cannot be written."""
    out = Path(path).expanduser()
    if out.is_dir():
        raise EvaluationError(f"--out {out} is a folder; give a file name such as {out / 'evaluation.json'}.")
    if out.exists():
        raise EvaluationError(
            f"{out} already exists and is kept; give a new file name with --out, or delete that file first."
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".check"):
            pass
    except OSError as exc:
        raise EvaluationError(
            f"Cannot write {out} ({exc.strerror or exc}); choose a folder you can write to for --out."
        ) from None
    return out


def run_spec(run: str, *, trust_remote_code: bool = False):
    """The ModelSpec of a run folder, refusing anything that is not one (consent from the user's option only)."""
    from ift_desktop.core.models import ModelSpec

    folder = Path(run).expanduser()
    if not folder.is_dir():
        raise EvaluationError(f"Run folder {folder} does not exist; pass a folder written by 'ift-desktop train'.")
    spec = ModelSpec.parse(str(folder), trust_remote_code=trust_remote_code)
    if spec.source != "run":
        raise EvaluationError(
            f"{folder} is not a training run (no run.json); pass it with --model if it is a model folder."
        )
    return spec


def run(args) -> int:
    from ift_desktop.core.evaluation.evaluate import evaluate, write_evaluation

    out = check_output(args.out)
    settings = generation_settings(args)
    from ift_desktop.core.models import ModelSpec

    trust = bool(getattr(args, "trust_remote_code", False))
    spec = (
        run_spec(args.run, trust_remote_code=trust)
        if args.run
        else ModelSpec.parse(args.model, trust_remote_code=trust)
    )
    progress = TerminalProgress()
    try:
        result = evaluate(
            model=spec,
            data_dir=args.data,
            split=args.split,
            limit=args.limit,
            settings=settings,
            batch_size=args.batch_size,
            use_stemmer=not args.no_stemmer,
            rouge_tokenizer=args.tokenizer,
            device=args.device,
            state=progress.state(),
        )
    finally:
        progress.clear()
    write_evaluation(result, out)
    corpus, timings = result["corpus"], result["timings"]
    names = (("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L"), ("rougeLsum", "ROUGE-Lsum"))
    line = "  ".join(f"{label} {corpus[key]['fmeasure']:.3f}" for key, label in names)
    print(
        f"{result['run'] or result['model']} on {args.split} ({len(result['examples'])} examples): "
        f"{line}  BLEU {corpus['bleu']['score']:.2f}"
    )
    print(
        f"generation {timings['generate_s']:.1f} s ({timings['tokens_per_s']:.1f} tokens/s), "
        f"total {timings['total_s']:.1f} s; written to {out}"
    )
    for warning in result.get("warnings") or []:
        message = warning.get("message") if isinstance(warning, dict) else str(warning)
        print(f"note: {message}", file=sys.stderr)
    return 0
