"""`ift-desktop train --config RUN_FILE [--out RUN] [--processes N] [--detach]`: a run from its file.

- one process: trains here, exactly what the Train page would run from that file;
- ``--processes N`` (or ``launch.processes`` in the file): writes ``RUN/accelerate.yaml`` and starts
  ``accelerate launch`` of this same command on N processes, watching them to the end;
- ``--detach``: starts the run in a new session (it outlives this terminal) and returns at once;
  the app attaches to it through ``RUN/status.json`` and ``RUN/control.json``.

Inside a launched process (``RANK``/``WORLD_SIZE`` set) each rank trains its share of the global
batch; only rank 0 writes the run folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from dataclasses import replace
from pathlib import Path

from ift_desktop.core.errors import TrainingError


def add_launch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--processes", type=int, metavar="N",
                        help="with --config: train on N processes through accelerate launch (GPUs, or the CPU over "
                        "gloo); the global batch of the run file is kept")  # fmt: skip
    parser.add_argument(
        "--strategy",
        choices=("ddp", "fsdp", "deepspeed"),
        help="with --processes: how the processes share the model (default ddp)",
    )
    parser.add_argument("--detach", action="store_true",
                        help="with --config: start the run in the background (it outlives this terminal) and return; "
                        "the app attaches to it")  # fmt: skip


@contextlib.contextmanager
def watched_by_files(out_dir, control, reporter):
    """On rank 0: keep ``RUN/status.json`` beating and apply ``RUN/control.json`` while training.

    Yields the ``on_event`` callback to give the trainer (the reporter and the status file)."""
    from ift_desktop.core.training.heartbeat import ControlFileWatcher, RunStatusFile
    from ift_desktop.core.training.ranks import is_main_process, world_size

    if not is_main_process():
        yield None
        return
    status = RunStatusFile(out_dir, processes=world_size()).start()
    watcher = ControlFileWatcher(out_dir, control).start()

    def on_event(event: dict) -> None:
        status.on_event(event)
        if reporter is not None:
            reporter(event)

    try:
        yield on_event
    except BaseException as exc:
        if status._state.get("status") not in ("finished", "stopped", "failed"):
            message = exc.one_line() if hasattr(exc, "one_line") else f"{type(exc).__name__}: {exc}"
            status.update(status="stopped" if type(exc).__name__ == "Cancelled" else "failed", message=message)
        raise
    finally:
        watcher.close()
        status.close()


def _out_folder(args, config_path: Path, workspace_runs: Path | None = None) -> Path:
    if args.out:
        return Path(args.out)
    if config_path.is_file() and config_path.name == "launch.json":
        return config_path.parent  # the app's run folder, or a folder the user made for the file
    if config_path.is_dir():
        return config_path
    raise TrainingError(
        f"Where should the run go? {config_path.name} is not a run folder's launch.json; add --out RUN."
    )


def run_from_file(args: argparse.Namespace) -> int:
    from ift_desktop.core.models import check_model_source
    from ift_desktop.core.training.data import check_dataset_folder
    from ift_desktop.core.training.ranks import is_launched
    from ift_desktop.core.training.run_file import RUN_FILE_NAME, RunFile, write_run_file

    given = _setting_flags_given(args)
    if given:
        raise TrainingError(
            f"--config takes every setting from the run file; drop {', '.join(given)} (or edit the file)."
        )
    config_path = Path(args.config).expanduser()
    run_file = RunFile.read(config_path)
    if args.processes is not None or args.strategy:
        run_file = run_file.with_launch(args.processes or run_file.processes, args.strategy)
    if run_file.processes > 1 and not is_launched():
        from ift_desktop.core.training.launch import split_global_batch

        split_global_batch(
            run_file.config.batch_size, run_file.config.grad_accum, run_file.processes
        )  # before any write
    out = _out_folder(args, config_path)
    model = replace(run_file.model, trust_remote_code=bool(args.trust_remote_code))  # consent: this machine only
    check_dataset_folder(run_file.data_dir)
    if not is_launched():
        check_model_source(model)
        _check_folder(out, args.resume)
        if not (out / RUN_FILE_NAME).is_file() or (out / RUN_FILE_NAME).resolve() != config_path.resolve():
            write_run_file(out, run_file)
    if args.detach and not is_launched():
        return _detach(out, args)
    if run_file.processes > 1 and not is_launched():
        return _launch(out, run_file, args)
    return _train_share(run_file, model, out, args.resume)


def _setting_flags_given(args: argparse.Namespace) -> list[str]:
    """The flags given beside ``--config`` that would silently disagree with the run file (its settings,
    its dataset, its model)."""
    from ift_desktop.commands.train import setting_flags

    given = [f"--{name}" for name in ("data", "model") if getattr(args, name, None)]
    for info in setting_flags():
        value = getattr(args, info.name, None)
        if value is not None:
            given.append(
                "--no-" + info.flag[2:] if value is False and info.kind is bool and info.optional else info.flag
            )
    return given


def _check_folder(out: Path, resume: bool) -> None:
    from ift_desktop.commands.train import check_resumable_here
    from ift_desktop.core.training import RunFolder

    if resume:
        check_resumable_here(out)
    else:
        RunFolder(out).check_new()


def _fresh_start(out: Path) -> None:
    """Before a process starts: no stale stop request, and a status the app can attach to at once."""
    from ift_desktop.core.training.heartbeat import RunStatusFile, write_control

    write_control(out, "run")
    RunStatusFile(out).update(status="starting", message="Starting the training process…")


def _detach(out: Path, args) -> int:
    from ift_desktop.core.training.heartbeat import RunStatusFile
    from ift_desktop.core.training.run_file import RUN_FILE_NAME
    from ift_desktop.core.training.supervisor import LAUNCH_LOG, start_detached, train_argv

    _fresh_start(out)
    argv = train_argv(out / RUN_FILE_NAME, out, resume=args.resume)
    if args.processes:
        argv += ["--processes", str(args.processes)]
    if args.strategy:
        argv += ["--strategy", args.strategy]
    if args.trust_remote_code:
        argv.append("--trust-remote-code")
    pid = start_detached(argv, out)
    RunStatusFile(out).update(status="starting", message="Starting the training process…", pid=pid)
    print(json.dumps({"status": "detached", "run": str(out.resolve()), "pid": pid, "log": str(out / LAUNCH_LOG)}))
    return 0


def _launch(out: Path, run_file, args) -> int:
    from ift_desktop.commands.train import print_summary
    from ift_desktop.core.training import RunFolder
    from ift_desktop.core.training.launch import accelerate_argv, free_port, write_accelerate_config
    from ift_desktop.core.training.run_file import RUN_FILE_NAME
    from ift_desktop.core.training.supervisor import supervise

    yaml = write_accelerate_config(
        out, processes=run_file.processes, strategy=run_file.strategy, config=run_file.config
    )
    _fresh_start(out)
    argv = accelerate_argv(
        accelerate_config=yaml,
        run_file=out / RUN_FILE_NAME,
        out_dir=out,
        processes=run_file.processes,
        port=free_port(),
    )
    if args.resume:
        argv.append("--resume")
    if args.trust_remote_code:
        argv.append("--trust-remote-code")
    supervise(argv, out, processes=run_file.processes)
    record = RunFolder(out).read_record()
    print_summary(_RecordResult(out, record))
    return 0


class _RecordResult:
    """The summary line of a launched run, read from its ``run.json``."""

    def __init__(self, out: Path, record: dict):
        self.status = record.get("status")
        self.run_dir = out
        self.global_step = record.get("global_step")
        self.final_loss = record.get("final_loss")
        self.final_eval_loss = record.get("final_eval_loss")
        artifact = record.get("artifact")
        self.artifact_dir = out / artifact if artifact else None
        self.elapsed_s = record.get("elapsed_s")


def _train_share(run_file, model, out: Path, resume: bool) -> int:
    """Train here: the whole run (one process) or this rank's share of the global batch."""

    from ift_desktop.commands.train import print_summary, train_here
    from ift_desktop.core.training.launch import per_process_config
    from ift_desktop.core.training.ranks import is_main_process, world_size

    config = per_process_config(run_file.config, world_size())
    result = train_here(config, data_dir=run_file.data_dir, model=model, out_dir=out, resume=resume)
    if is_main_process():
        print_summary(result)
    return 0
