"""`ift-desktop train`: fine-tune a model (LoRA or full) on a prepared dataset, headless.

::

    ift-desktop train --data DIR --model MODEL --method lora|full [--max-steps N | --epochs E]
        [--lr X] [--batch-size N] [--grad-accum N] [--max-length N] [--lora-r N] [--seed N] ...
        --out RUN [--resume]
    ift-desktop train --config RUN_FILE [--out RUN] [--processes N] [--strategy ddp|fsdp|deepspeed] [--detach] [--resume]

MODEL is ``builtin``, a Hugging Face Hub id or a local folder (or a run folder). Writes the run
folder of DESIGN.md (``run.json``, ``metrics.jsonl``, ``checkpoints/``, ``adapter/`` or ``model/``).
On a terminal a progress bar is drawn on stderr; otherwise one plain line per logged step. The
first Ctrl-C stops after the current step and saves; a second one aborts. The setting flags are made
from ``TrainConfig``'s field metadata (core/training/setting_fields.py): a new setting gets its flag there.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from ift_desktop.core.errors import TrainingError
from ift_desktop.core.progress import TaskState

from .progress import percent, redraw_line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="RUN_FILE",
        help="train from a run file (launch.json saved by the Train page, or a run's run.json) "
        "instead of --data/--model and the settings below",
    )
    parser.add_argument("--data", metavar="DIR", help="a prepared dataset folder (ift-desktop prepare)")
    parser.add_argument("--model", metavar="MODEL", help="'builtin', a Hub id (org/name) or a folder")
    add_setting_arguments(parser)
    parser.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="allow the model to run the Python code it ships, for this model (remembered for the run "
        "it trains); a run folder's own files never allow it (only for authors you trust)",
    )
    parser.add_argument(
        "--out", metavar="RUN", help="the run folder to write (with --config: default beside the run file)"
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    from ift_desktop.commands.train_from_file import add_launch_arguments

    add_launch_arguments(parser)


def setting_flags(config_cls=None) -> list:
    """The :class:`SettingInfo` of every ``TrainConfig`` field that is a flag (its ``dest`` is its name)."""
    from ift_desktop.core.training.config import TrainConfig
    from ift_desktop.core.training.setting_fields import settings_of

    return [info for info in settings_of(config_cls or TrainConfig) if info.flag]


def _flag_help(info, text: str | None = None) -> str:
    """The help of a setting's flag, escaped for argparse's %-formatting."""
    text = text or (info.flag_help if isinstance(info.flag_help, str) else info.help)
    if info.choices and not info.open_choices and info.default is not None:
        text += f" Default: {info.default}."
    if info.is_list:
        text += " Repeatable." if _repeated(info) else " Comma-separated."
    return text.replace("%", "%%")


def add_setting_arguments(parser: argparse.ArgumentParser, config_cls=None) -> None:
    """One flag per ``TrainConfig`` setting, made from the field's metadata (setting_fields.py).

    Every flag defaults to ``None`` (not given: the config's default applies). A yes/no setting is a
    switch (``--gradient-checkpointing``), an optional one a pair (``--chat-template`` /
    ``--no-chat-template``); a list is one comma-separated value when its metavar shows a comma
    (``A,B``), else its flag is repeated (``--probe PROMPT``)."""
    groups: dict = {}  # cli_group → its mutually exclusive group

    def group(name: str):
        if name not in groups:
            groups[name] = parser.add_mutually_exclusive_group()
        return groups[name]

    for info in setting_flags(config_cls):
        target = group(info.cli_group) if info.cli_group else parser
        if info.kind is bool and info.optional:
            pair = group(info.cli_group or info.name)
            on_help, off_help = info.flag_help if isinstance(info.flag_help, tuple) else (info.help, None)
            pair.add_argument(
                info.flag, dest=info.name, action="store_true", default=None, help=_flag_help(info, on_help)
            )
            pair.add_argument("--no-" + info.flag[2:], dest=info.name, action="store_false",
                              help=(off_help or f"the opposite of {info.flag}").replace("%", "%%"))  # fmt: skip
        elif info.kind is bool:
            target.add_argument(info.flag, dest=info.name, action="store_true", default=None, help=_flag_help(info))
        elif info.is_list and _repeated(info):
            target.add_argument(info.flag, dest=info.name, action="append", metavar=info.metavar, help=_flag_help(info))
        else:
            target.add_argument(info.flag, dest=info.name, **_value_options(info), help=_flag_help(info))


def _repeated(info) -> bool:
    """A list given by repeating its flag (each value may hold commas), not as one comma-separated value."""
    return not info.metavar or "," not in info.metavar


def _value_options(info) -> dict:
    options: dict = {}
    if info.kind in (int, float):
        options["type"] = info.kind
        options["metavar"] = info.metavar or ("N" if info.kind is int else "X")
    elif info.choices and info.open_choices:
        options["metavar"] = info.metavar or "|".join(str(choice) for choice in info.choices)
    elif info.choices:
        options["choices"] = info.choices
    elif info.metavar:
        options["metavar"] = info.metavar
    return options


def config_from_args(args: argparse.Namespace):
    """The ``TrainConfig`` of the given flags (the others keep the config's defaults). A bad value is
    a one-line error naming the setting, its flag and its key in a run file."""
    from ift_desktop.core.errors import SettingError
    from ift_desktop.core.training import TrainConfig

    values = {}
    for info in setting_flags():
        value = getattr(args, info.name, None)
        if value is None:
            continue
        if info.is_list and not _repeated(info):
            value = [part.strip() for part in str(value).split(",")]
        values[info.name] = list(value) if info.is_list else value
    try:
        return TrainConfig(**values)
    except SettingError as exc:
        flag = {info.name: info.flag for info in setting_flags()}.get(exc.setting)
        where = f"{flag}; {exc.setting} in a run file" if flag else f"{exc.setting} in a run file"
        raise exc.named(f"{exc.label} ({where})") from None


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
            redraw_line(self.stream, f"{message}{percent(fraction, 1)}")
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
            redraw_line(self.stream, f"step {step}/{total} [{bar}] {info}")
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
    if args.resume:
        check_resumable_here(args.out)
    else:
        RunFolder(args.out).check_new()

    result = train_here(config, data_dir=args.data, model=spec, out_dir=args.out, resume=args.resume)
    print_summary(result)
    return 0


_RESUME_WORDING = {  # what to do next, in this command's words
    "no-run": "{path} holds no run to resume; drop --resume to start a new run there.",
    "unstarted": "{path} has no checkpoint to resume from (the run ended before its first one); run the same "
    "command without --resume to start it again from the beginning in that folder.",
}


def check_resumable_here(out_dir) -> None:
    """``--resume``: the core's decision (:func:`check_resumable`), with the flag named where it helps."""
    from ift_desktop.core.training.resumable import ResumeRefused, check_resumable

    try:
        check_resumable(out_dir)
    except ResumeRefused as exc:
        wording = _RESUME_WORDING.get(exc.reason)
        if wording is None:
            raise
        raise TrainingError(wording.format(path=Path(out_dir).expanduser())) from None


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
