"""Starting a run in another process, and watching a launched run to its end.

- :func:`start_detached` starts ``python -m ift_desktop train --config ...`` in a new session (it
  outlives the app or the terminal), its output in ``RUN/launch.log``; the run folder's
  ``status.json`` says how it goes.
- :func:`supervise` runs ``accelerate launch`` for a run on several processes and watches it: when
  a rank dies, torch.distributed's agent ends the others, and the launcher records one clear line
  (which rank, which signal, where to continue from) in ``status.json`` and ``run.json``; when rank
  0 stops beating (a hang in a collective), the watchdog ends the whole process group.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from ..errors import TrainingError
from ..provenance import now_iso
from .heartbeat import STALE_AFTER_S, mark_ended, read_run_status, write_control
from .run_folder import RunFolder

LAUNCH_LOG = "launch.log"
_FAILED_RANK = re.compile(r"\brank\s*:\s*(\d+)")
_SIGNAL = re.compile(r"Signal (\d+) \((SIG\w+)\)")
_EXITCODE = re.compile(r"exitcode\s*:\s*(-?\d+)")


def start_detached(argv: list[str], run_dir: str | Path, *, env: dict | None = None) -> int:
    """Start ``argv`` in a new session with its output in ``RUN/launch.log``; returns its pid at once."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LAUNCH_LOG, "ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env={**os.environ, **(env or {})},
        )
    threading.Thread(target=process.wait, name="ift-reap-detached", daemon=True).start()  # no zombie left behind
    return process.pid


def train_argv(
    run_file: str | Path, out_dir: str | Path, *, resume: bool = False, python: str | None = None
) -> list[str]:
    """The command line of a run started from its run file (what ``--detach`` and the app start)."""
    argv = [python or sys.executable, "-m", "ift_desktop", "train", "--config", str(run_file), "--out", str(out_dir)]
    return argv + (["--resume"] if resume else [])


def failure_message(lines: list[str], returncode: int, processes: int, run_dir: Path) -> str:
    """One line from the launcher's output: which rank ended how, and where the run can go on."""
    text = "\n".join(lines)
    text = text.split("Root Cause", 1)[-1]  # torch.distributed lists the first failure there; the rest were ended by it
    rank = _FAILED_RANK.search(text)
    sig = _SIGNAL.search(text)
    code = _EXITCODE.search(text)
    who = f"Rank {rank.group(1)} of {processes}" if rank else f"A process of the {processes}-process run"
    if sig:
        how = f"was killed ({sig.group(2)})"
    elif code and int(code.group(1)) < 0:
        number = -int(code.group(1))
        how = f"was killed ({signal.Signals(number).name if number in signal.valid_signals() else f'signal {number}'})"
    elif code:
        how = f"exited with code {code.group(1)}"
    else:
        how = f"ended with code {returncode}"
    checkpoint = RunFolder(run_dir).last_checkpoint()
    after = f"continue it from {checkpoint.name}." if checkpoint else "it had no checkpoint yet, so start it again."
    return f"{who} {how}, so the launcher ended the run; {after}"


def supervise(argv: list[str], run_dir: str | Path, *, processes: int, stale_after_s: float = 3 * STALE_AFTER_S,
              echo=None) -> int:  # fmt: skip
    """Run the launcher ``argv`` in its own process group until it ends; raise ``TrainingError``
    with a clear line when it failed or hung. ``echo`` receives each output line (default stderr)."""
    run_dir = Path(run_dir)
    echo = echo or (lambda line: (sys.stderr.write(line + "\n"), sys.stderr.flush()))
    tail: deque[str] = deque(maxlen=200)
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        start_new_session=True,
    )  # fmt: skip

    def pump() -> None:
        for line in process.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            echo(line)

    reader = threading.Thread(target=pump, name="ift-launcher-output", daemon=True)
    reader.start()
    restore = _forward_interrupts(process, run_dir)
    hung = False
    try:
        started = time.monotonic()
        while process.poll() is None:
            time.sleep(0.5)
            if process.poll() is None and _is_silent(run_dir, stale_after_s, time.monotonic() - started):
                hung = True
                _end_group(process)
    finally:
        restore()
    reader.join(timeout=5)
    if process.returncode == 0 and not hung:
        return 0
    if hung:
        message = (
            f"Rank 0 of the {processes}-process run gave no sign of life for {stale_after_s:.0f} s, so the launcher "
            "ended every process; " + _where_to_go_on(run_dir)
        )
    else:
        message = failure_message(list(tail), process.returncode, processes, run_dir)
    _record_failure(run_dir, message)
    raise TrainingError(message)


def _is_silent(run_dir: Path, stale_after_s: float, running_s: float) -> bool:
    """Rank 0's heartbeat is older than ``stale_after_s`` (or never came): a hang, not an exit
    (a dead rank 0 is noticed by torch.distributed's agent, which then ends the group itself)."""
    status = read_run_status(run_dir, stale_after_s=stale_after_s)
    if status.state == "absent" or status.status == "starting":  # loading torch may take a while
        return running_s > 3 * stale_after_s
    return status.heartbeat_age_s is not None and status.heartbeat_age_s > stale_after_s and status.state != "ended"


def _where_to_go_on(run_dir: Path) -> str:
    checkpoint = RunFolder(run_dir).last_checkpoint()
    return f"continue it from {checkpoint.name}." if checkpoint else "it had no checkpoint yet, so start it again."


def _record_failure(run_dir: Path, message: str) -> None:
    if read_run_status(run_dir).state != "ended" or read_run_status(run_dir).status != "failed":
        mark_ended(run_dir, "failed", message)
    run = RunFolder(run_dir)
    if run.exists() and run.read_record().get("status") not in ("finished", "stopped"):
        run.update_record(status="failed", error=message, finished=now_iso())


def _end_group(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace_s)
    except ProcessLookupError:
        pass


def _forward_interrupts(process: subprocess.Popen, run_dir: Path):
    """Ctrl-C / SIGTERM: ask the ranks to stop at the next step and save; a second one ends them."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    asked = []

    def handler(signum, frame):
        if asked:
            _end_group(process, grace_s=5.0)
            return
        asked.append(signum)
        sys.stderr.write("Stopping after the current step and saving (again to end at once)...\n")
        write_control(run_dir, "stop")

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, handler)
    return lambda: [signal.signal(sig, handler_) for sig, handler_ in previous.items()]
