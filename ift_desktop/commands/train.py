"""`ift-desktop train`: fine-tune a model (LoRA or full) on a prepared dataset, headless.

::

    ift-desktop train --data DIR --model MODEL --method lora|full [--max-steps N | --epochs E]
        [--lr X] [--batch-size N] [--grad-accum N] [--max-length N] [--lora-r N] [--seed N]
        --out RUN [--resume]
    ift-desktop train --config RUN_FILE [--out RUN] [--processes N] [--strategy ddp|fsdp|deepspeed] [--detach] [--resume]

MODEL is ``builtin``, a Hugging Face Hub id or a local folder (or a run folder). Writes the run
folder of DESIGN.md (``run.json``, ``metrics.jsonl``, ``checkpoints/``, ``adapter/`` or ``model/``).
On a terminal a progress bar is drawn on stderr; otherwise one plain line per logged step. The
first Ctrl-C stops after the current step and saves; a second one aborts.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import warnings

from ift_desktop.core.errors import TrainingError
from ift_desktop.core.progress import TaskState


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ift_desktop.core.training.config import METHODS, SCHEDULES, TrainConfig

    def h(name: str) -> str:  # the fields' help text, escaped for argparse's %-formatting
        return TrainConfig.help(name).replace("%", "%%")

    parser.add_argument("--config", metavar="RUN_FILE",
                        help="train from a run file (launch.json saved by the Train page, or a run's run.json) "
                        "instead of --data/--model and the settings below")
    parser.add_argument("--data", metavar="DIR", help="a prepared dataset folder (ift-desktop prepare)")
    parser.add_argument("--model", metavar="MODEL", help="'builtin', a Hub id (org/name) or a folder")
    parser.add_argument("--method", choices=METHODS, help=h("method") + " Default: lora.")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--max-steps", type=int, metavar="N", help=h("max_steps"))
    length.add_argument("--epochs", type=float, metavar="E", help=h("epochs"))
    parser.add_argument("--time-limit", type=float, metavar="MINUTES", help=h("time_limit_minutes"))
    parser.add_argument("--lr", type=float, metavar="X", help=h("learning_rate"))
    parser.add_argument("--batch-size", type=int, metavar="N", help=h("batch_size"))
    parser.add_argument("--grad-accum", type=int, metavar="N", help=h("grad_accum"))
    parser.add_argument("--max-length", type=int, metavar="N", help=h("max_length"))
    parser.add_argument("--lora-r", type=int, metavar="N", help=h("lora_r"))
    parser.add_argument("--lora-alpha", type=int, metavar="N", help=h("lora_alpha"))
    parser.add_argument("--lora-dropout", type=float, metavar="P", help=h("lora_dropout"))
    parser.add_argument("--lora-targets", metavar="A,B", help=h("lora_target_modules") + " Comma-separated.")
    parser.add_argument("--schedule", choices=SCHEDULES, help=h("lr_schedule"))
    parser.add_argument("--warmup-ratio", type=float, metavar="F", help=h("warmup_ratio"))
    parser.add_argument("--weight-decay", type=float, metavar="F", help=h("weight_decay"))
    parser.add_argument("--eval-steps", type=int, metavar="N", help=h("eval_steps"))
    parser.add_argument("--eval-max-examples", type=int, metavar="N", help=h("eval_max_examples"))
    parser.add_argument("--save-steps", type=int, metavar="N", help=h("save_steps"))
    parser.add_argument("--seed", type=int, metavar="N", help=h("seed"))
    parser.add_argument("--gradient-checkpointing", action="store_true", default=None, help=h("gradient_checkpointing"))
    parser.add_argument("--precision", choices=("auto", "bf16", "fp16", "fp32"), help=h("precision"))
    parser.add_argument("--device", metavar="auto|cuda|mps|cpu", help=h("device"))
    chat = parser.add_mutually_exclusive_group()
    chat.add_argument("--chat-template", dest="use_chat_template", action="store_true", default=None,
                      help="always wrap prompts in the model's chat template")
    chat.add_argument("--no-chat-template", dest="use_chat_template", action="store_false",
                      help="never use the chat template (plain prompt + completion)")
    parser.add_argument("--probe", action="append", metavar="PROMPT", help=h("probe_prompts") + " Repeatable.")
    parser.add_argument("--trust-remote-code", action="store_true",
                        help="allow the model to run the Python code it ships, for this model (remembered for the run "
                             "it trains); a run folder's own files never allow it (only for authors you trust)")
    parser.add_argument("--out", metavar="RUN", help="the run folder to write (with --config: default beside the run file)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    from ift_desktop.commands.train_from_file import add_launch_arguments

    add_launch_arguments(parser)


_OPTIONS = {
    "max_steps": "max_steps", "epochs": "epochs", "time_limit": "time_limit_minutes", "lr": "learning_rate", "batch_size": "batch_size",
    "grad_accum": "grad_accum", "max_length": "max_length", "lora_r": "lora_r", "lora_alpha": "lora_alpha",
    "lora_dropout": "lora_dropout", "schedule": "lr_schedule", "warmup_ratio": "warmup_ratio",
    "weight_decay": "weight_decay", "eval_steps": "eval_steps", "eval_max_examples": "eval_max_examples",
    "save_steps": "save_steps", "seed": "seed", "gradient_checkpointing": "gradient_checkpointing",
    "precision": "precision", "device": "device", "use_chat_template": "use_chat_template",
}  # fmt: skip


def config_from_args(args: argparse.Namespace):
    from ift_desktop.core.training import TrainConfig

    values = {"method": args.method or "lora"}
    for option, name in _OPTIONS.items():
        value = getattr(args, option, None)
        if value is not None:
            values[name] = value
    if args.lora_targets:
        values["lora_target_modules"] = [part.strip() for part in args.lora_targets.split(",")]
    if args.probe:
        values["probe_prompts"] = list(args.probe)
    return TrainConfig(**values)


class _Reporter:
    """Draws training events on stderr: a redrawn bar on a terminal, plain lines otherwise."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_eval: float | None = None
        self._bar_open = False

    def _line(self, text: str) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self._bar_open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def progress(self, fraction: float | None, message: str) -> None:
        if self.tty:
            pct = f" {fraction * 100:5.1f}%" if fraction is not None else ""
            self.stream.write(f"\r{message}{pct}\x1b[K")
            self.stream.flush()
            self._bar_open = True
        elif fraction is None or fraction in (0.0, 1.0):
            self._line(message)

    def __call__(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "log":
            self._log(event)
        elif kind == "eval":
            self.last_eval = event.get("eval_loss")
            self._line(f"step {event['step']}: validation loss {_fmt(self.last_eval)}")
        elif kind == "probe":
            for item in event.get("answers", []):
                self._line(f"step {event['step']} probe: {item['prompt'][:40]!r} -> {item['answer'][:80]!r}")
        elif kind == "checkpoint":
            if not self.tty:
                self._line(f"step {event['step']}: checkpoint {event['path']}")
        elif kind == "warning":
            self._line(f"warning: {event.get('message', '')}")
        elif kind == "status" and event.get("status") != "failed":  # the failure is the command's one error line
            if event.get("done") is not None:  # a validation batch: redrawn on a terminal, silent otherwise
                if self.tty:
                    self.progress(None, event.get("message", ""))
                return
            self._line(f"[{event['status']}] {event.get('message', '')}")

    def _log(self, event: dict) -> None:
        step, total = event["step"], event.get("max_steps") or 0
        eta = event.get("eta_s")
        tokens = event.get("tokens_per_s")
        parts = [
            f"loss {_fmt(event.get('loss'))}",
            f"lr {event.get('learning_rate') or 0:.2e}",
            f"grad {_fmt(event.get('grad_norm'), 3)}",
            f"{tokens:.0f} tok/s" if tokens else "",
            f"ETA {_clock(eta)}" if eta is not None else "",
        ]
        info = "  ".join(p for p in parts if p)
        if self.tty:
            width = 24
            done = int(width * step / total) if total else 0
            bar = "#" * done + "." * (width - done)
            self.stream.write(f"\rstep {step}/{total} [{bar}] {info}\x1b[K")
            self.stream.flush()
            self._bar_open = True
        else:
            self._line(f"step {step}/{total} {info}")

    def close(self) -> None:
        if self._bar_open:
            self.stream.write("\n")
            self.stream.flush()
            self._bar_open = False


def _fmt(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def run(args: argparse.Namespace) -> int:
    from transformers.utils import logging as hf_logging

    from ift_desktop.core.models import ModelSpec, check_model_source
    from ift_desktop.core.training import RunFolder
    from ift_desktop.core.training.data import check_dataset_folder

    if args.config:
        from ift_desktop.commands.train_from_file import run_from_file

        return run_from_file(args)
    missing = [f"--{name}" for name in ("data", "model", "out") if not getattr(args, name)]
    if missing:
        raise TrainingError(f"train needs {', '.join(missing)} (or --config RUN_FILE); see ift-desktop train --help.")
    config = config_from_args(args)  # bad settings fail here, before anything is loaded
    check_dataset_folder(args.data)
    spec = ModelSpec.parse(args.model, trust_remote_code=args.trust_remote_code)
    check_model_source(spec)
    hf_logging.disable_progress_bar()  # our own bar / lines only
    warnings.filterwarnings("ignore", category=FutureWarning)
    folder = RunFolder(args.out)
    if not args.resume:
        folder.check_new()
    elif not folder.exists():
        raise TrainingError(f"{folder.path} holds no run to resume; drop --resume to start a new run there.")
    elif folder.is_unstarted():
        raise TrainingError(
            f"{folder.path} has no checkpoint to resume from (the run ended before its first one); run the same "
            "command without --resume to start it again from the beginning in that folder."
        )

    result = train_here(config, data_dir=args.data, model=spec, out_dir=args.out, resume=args.resume)
    print_summary(result)
    return 0


def train_here(config, *, data_dir, model, out_dir, resume: bool):
    """Train in this process (one rank of a launched run, or the whole run), reporting on stderr.

    Rank 0 keeps ``RUN/status.json`` beating and obeys ``RUN/control.json``, so the app can attach."""
    from ift_desktop.commands.train_from_file import watched_by_files
    from ift_desktop.core.training import TrainingControl, run_training
    from ift_desktop.core.training.rank_sync import control_for_this_process
    from ift_desktop.core.training.ranks import is_main_process

    reporter = _Reporter() if is_main_process() else None
    local = TrainingControl()
    control, sync_callbacks = control_for_this_process(local)
    restore = _install_interrupt(local, reporter) if reporter else (lambda: None)
    try:
        with watched_by_files(out_dir, local, reporter) as on_event:
            return run_training(
                config,
                data_dir=data_dir,
                model=model,
                out_dir=out_dir,
                on_event=on_event,
                control=control,
                resume=resume,
                state=TaskState(on_progress=reporter.progress if reporter else None),
                callbacks=sync_callbacks,
            )
    finally:
        if reporter:
            reporter.close()
        restore()


def print_summary(result) -> None:
    summary = {
        "status": result.status,
        "run": str(result.run_dir),
        "steps": result.global_step,
        "final_loss": result.final_loss,
        "final_eval_loss": result.final_eval_loss,
        "artifact": str(result.artifact_dir) if result.artifact_dir else None,
        "elapsed_s": result.elapsed_s,
    }
    print(json.dumps(summary))


def _install_interrupt(control, reporter):
    """First Ctrl-C: stop after this step and save; second: abort. Returns the undo function."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if control.stop_requested():
            raise KeyboardInterrupt
        reporter._line("Stopping after the current step and saving (Ctrl-C again to abort)...")
        control.request_stop()

    signal.signal(signal.SIGINT, handler)
    return lambda: signal.signal(signal.SIGINT, previous)
