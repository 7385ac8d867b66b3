"""`ift-desktop score`: ROUGE-1/2/L/Lsum and BLEU of predictions against references, with overlaps.

File format (both files): UTF-8, one text per line; a literal ``\\n`` (backslash, n) inside a line
stands for a newline, so ROUGE-Lsum sees sentences; an empty line is an empty text; a final newline
at the end of the file does not start another text; Windows line ends (``\\r\\n``) are accepted.
``--references`` may be given several times for several references per example: each file holds
one reference per line, line k of every file belonging to prediction k.

``--json`` prints the one JSON object of the contract on stdout; without it a short table.
Bad input (a missing file, a non-UTF-8 byte, files of different lengths, no predictions) exits with
status 2 and one line on stderr (``cli.main`` turns the :class:`EvaluationError` into that line).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ift_desktop.core.errors import EvaluationError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--predictions", required=True, metavar="FILE", help="one prediction per line")
    parser.add_argument(
        "--references",
        required=True,
        metavar="FILE",
        action="append",
        help="one reference per line; give it several times for several references per example",
    )
    parser.add_argument("--no-stemmer", action="store_true", help="turn off Porter stemming for ROUGE")
    parser.add_argument(
        "--tokenizer",
        choices=("default", "unicode"),
        default="default",
        help="ROUGE tokenizer: rouge_score's default (a-z, 0-9 only) or a Unicode-aware one "
        "(for non-Latin text; not comparable with published ROUGE)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def read_texts(path: str | Path, what: str) -> list[str]:
    """The texts of a one-text-per-line file (see the module docstring for the format)."""
    path = Path(path)
    if not path.is_file():
        where = "is a folder" if path.is_dir() else "was not found"
        raise EvaluationError(f"The {what} file {path} {where}; give a text file with one {what[:-1]} per line.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvaluationError(
            f"The {what} file {path} cannot be read ({exc.strerror}); check its permissions."
        ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EvaluationError(
            f"The {what} file {path} is not UTF-8 text (line {line}, byte {exc.start}); save it as UTF-8."
        ) from None
    if text == "":
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r").replace("\\n", "\n") for line in lines]


def load_inputs(predictions: str | Path, references: list[str | Path]) -> tuple[list[str], list[list[str]]]:
    """Predictions and, per prediction, its references, checked for matching lengths."""
    preds = read_texts(predictions, "predictions")
    if not preds:
        raise EvaluationError(f"The predictions file {predictions} is empty; put one prediction per line.")
    columns = []
    for ref_path in references:
        refs = read_texts(ref_path, "references")
        if len(refs) != len(preds):
            raise EvaluationError(
                f"The predictions file {predictions} has {len(preds)} lines but the references file {ref_path} "
                f"has {len(refs)}; each line is one example, so both need the same number of lines."
            )
        columns.append(refs)
    return preds, [list(refs) for refs in zip(*columns)]


def run(args: argparse.Namespace) -> int:
    from ift_desktop.core.evaluation.metrics import score

    predictions, references = load_inputs(args.predictions, args.references)
    result = score(predictions, references, use_stemmer=not args.no_stemmer, tokenizer=args.tokenizer)
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table(result))
    return 0


def format_table(result: dict) -> str:
    """A short human-readable summary of a ``score`` result."""
    names = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L", "rougeLsum": "ROUGE-Lsum"}
    intervals = (result.get("confidence") or {}).get("metrics", {})
    lines = [f"{len(result['examples'])} examples; {result['settings']['rouge']}", ""]
    lines.append(f"{'metric':<11}{'precision':>10}{'recall':>10}{'F1':>10}   95% interval (F1)")
    for key, label in names.items():
        value = result["corpus"][key]
        ci = intervals.get(key)
        interval = f"   {ci['low']:.4f} - {ci['high']:.4f}" if ci else ""
        lines.append(
            f"{label:<11}{value['precision']:>10.4f}{value['recall']:>10.4f}{value['fmeasure']:>10.4f}{interval}"
        )
    bleu = result["corpus"]["bleu"]
    ci = intervals.get("bleu")
    interval = f"   95% interval {ci['low']:.2f} - {ci['high']:.2f}" if ci else ""
    precisions = "/".join(f"{p:.1f}" for p in bleu["precisions"])
    lines.append(
        f"{'BLEU':<11}{bleu['score']:>10.2f}   {precisions} (BP {bleu['bp']:.3f}, "
        f"hyp_len {bleu['sys_len']}, ref_len {bleu['ref_len']}){interval}"
    )
    lines.append(f"{'':<11}{bleu['signature']}")
    for note in result.get("warnings", []):
        lines.append(f"warning: {note['message']}")
    return "\n".join(lines)
