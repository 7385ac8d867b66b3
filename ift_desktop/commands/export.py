"""`ift-desktop export`: a run's LoRA adapter, a merged model, or a GGUF file for llama.cpp / Ollama.

Contract (DESIGN.md): ``--run RUN --format adapter|merged|gguf [--quant f16|q8_0] --out PATH``.
``adapter`` and ``merged`` write a folder (safetensors + tokenizer); ``gguf`` writes ``PATH`` (a
``.gguf`` file) with the tokenizer, its special tokens and the run's chat template in the metadata,
an Ollama ``Modelfile`` and ``<name>.export.json`` beside it, after reading the file back and
answering the run's probe prompts with it (f16 must answer exactly as the merged model). A model
GGUF cannot describe (e.g. T5) is refused before any work, exit 2 with one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ift_desktop.commands.progress import TerminalProgress
from ift_desktop.core.errors import ExportError
from ift_desktop.core.training.run_folder import RunFolder

FORMATS = ("adapter", "merged", "gguf")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, metavar="RUN", help="a training run folder")
    parser.add_argument(
        "--format",
        required=True,
        choices=FORMATS,
        help="adapter: the LoRA adapter as trained; merged: a standalone model (safetensors); "
        "gguf: one file for llama.cpp, LM Studio and Ollama",
    )
    parser.add_argument(
        "--quant",
        choices=("f16", "q8_0"),
        default="f16",
        help="GGUF number format: f16 (exact answers) or q8_0 (about half the size); default f16",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="a new folder (adapter, merged) or a file name ending in .gguf (gguf)",
    )


def _print_gguf(export) -> None:
    trip = export.round_trip
    print(f"wrote {export.path} ({export.size_bytes / 1e6:.1f} MB, {export.quant})")
    verdict = "identical" if trip.all_identical else "differ"
    print(
        f"round trip: {trip.identical} of {trip.total} probe answers identical to the merged model ({verdict}); "
        f"chat template and end-of-turn token checked"
    )
    for row in trip.answers:
        if not row["identical"]:
            print(
                f"  prompt: {row['prompt'][:70]!r}\n    merged: {row['merged'][:70]!r}\n    gguf:   {row['gguf'][:70]!r}"
            )
    if export.modelfile.note:
        print(f"note: {export.modelfile.note}")
    print(f"Ollama: {export.modelfile_path} written; in {export.path.parent} run:")
    for command in export.ollama_commands:
        print(f"  {command}")
    print(f"report: {export.report_path}")


def _run_folder(text: str) -> Path:
    folder = Path(text).expanduser()
    if not RunFolder(folder).exists():
        what = "does not exist" if not folder.exists() else "is not a training run (no run.json)"
        raise ExportError(f"{folder} {what}; pass a run folder written by 'ift-desktop train' or the Train page.")
    return folder


def run(args) -> int:
    run_dir = _run_folder(args.run)
    progress = TerminalProgress()
    if args.format == "gguf":
        from ift_desktop.core.export.gguf_export import check_gguf_export, check_target, export_gguf

        check_target(run_dir, args.out)
        check_gguf_export(run_dir)  # refuse before loading the model
        try:
            export = export_gguf(run_dir, args.out, quant=args.quant, state=progress.state())
        finally:
            progress.clear()
        _print_gguf(export)
        return 0
    from ift_desktop.core.workspace.runs import export_run

    try:
        out = export_run(run_dir, args.out, merged=args.format == "merged", state=progress.state())
    finally:
        progress.clear()
    print(f"wrote {out}")
    return 0
