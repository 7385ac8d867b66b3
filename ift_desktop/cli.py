"""`ift-desktop`: with no arguments opens the app; subcommands run headless on the same core.

The argument definitions and behaviour of each subcommand live in ``ift_desktop/commands/<name>.py``
(``add_arguments(parser)`` and ``run(args) -> int``); this module only dispatches and turns errors
into one clear line on stderr with exit status 2 (the contract in DESIGN.md).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path

COMMANDS = {
    "prepare": "Turn a dataset into an instruction dataset (train/validation/test).",
    "train": "Fine-tune a model (LoRA or full) on a prepared dataset.",
    "evaluate": "Generate on a split with a model or run and score it (ROUGE, BLEU).",
    "score": "Score predictions against references (ROUGE-1/2/L/Lsum, BLEU, overlaps).",
    "benchmark": "Held-out benchmarks: MMLU-style multiple choice, GLUE-style classification.",
    "forgetting": "Score a run's base and fine-tuned model on a held-out check (the Forgetting tab's check).",
    "export": "Export a run: its LoRA adapter, a merged model, or GGUF for llama.cpp / Ollama.",
}


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line, as the contract asks."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"error: {self.prog}: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``only``, just that subcommand's module is imported (``score`` then
    starts without loading torch or transformers, which the training command needs)."""
    from ift_desktop import __version__

    parser = _Parser(prog="ift-desktop", description="IFT Desktop: instruction fine-tuning on one workstation.")
    parser.add_argument("--version", action="version", version=f"ift-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="{" + ",".join(COMMANDS) + "}")
    for name, help_text in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            module = importlib.import_module(f"ift_desktop.commands.{name}")
            module.add_arguments(command_parser)
            command_parser.set_defaults(_run=module.run)
    return parser


def _crash_log(exc: BaseException) -> Path | None:
    try:
        from ift_desktop.core.paths import cache_dir

        path = cache_dir() / "logs" / "last-error.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        return path
    except Exception:  # pragma: no cover - logging must never raise
        return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from ift_desktop.ui.app import main as gui_main

        return gui_main()
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    from ift_desktop.core.errors import Cancelled, UserError

    _quiet_libraries()
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Cancelled):
        print("error: cancelled by the user; nothing was written.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `ift-desktop prepare --list-templates | head`: the reader left
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # an unexpected failure: one line, details in a log file
        log = _crash_log(exc)
        where = f" Details were written to {log}." if log else ""
        print(f"error: unexpected failure in '{args.command}': {type(exc).__name__}: {exc}.{where}", file=sys.stderr)
        return 2


def _quiet_libraries() -> None:
    """Our own progress lines only: no library progress bars (Hugging Face's, read when transformers is
    first imported) and no deprecation notices meant for programmers."""
    import os
    import warnings

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)


if __name__ == "__main__":
    raise SystemExit(main())
