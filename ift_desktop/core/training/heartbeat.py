"""A run in another process, seen through two small files in its run folder.

- ``status.json`` — written by the training process (rank 0): what it is doing (``status``,
  ``message``), how far it is (``step``, ``max_steps``, ``eta_s``), who it is (``pid``, ``host``,
  ``processes``) and a ``heartbeat`` time rewritten every few seconds, so a watcher can tell a live
  run from a dead one. A run that ran out of memory adds ``retry``: the settings to retry with.
- ``control.json`` — written by whoever steers the run (the app): ``{"state": "run" | "pause" |
  "stop"}``. The training process reads it a few times a second and applies it to its
  :class:`~ift_desktop.core.training.callbacks.TrainingControl`.

:func:`read_run_status` says whether a run is ``live``, ``ended`` or ``interrupted`` (its heartbeat
stopped without an ending: the process was killed or the machine went down), which the app shows and
offers to continue from the last checkpoint. No Qt here; the app polls these files from a timer.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write_json
from ..errors import TrainingError
from .run_lock import CAN_TELL_LIVE_RUNS, is_being_trained

STATUS_FILE = "status.json"
CONTROL_FILE = "control.json"
HEARTBEAT_INTERVAL_S = 2.0
STALE_AFTER_S = 20.0  # ten missed heartbeats
ENDED = ("finished", "stopped", "failed")
CONTROL_STATES = ("run", "pause", "stop")


# ------------------------------------------------------------------------------------ status file
class RunStatusFile:
    """The training side: keeps ``RUN/status.json`` current and beats while the process lives.

    Pass :meth:`on_event` the trainer's events (it is an ``on_event`` callback); :meth:`start`
    begins the heartbeat thread, :meth:`close` ends it (the last status stays in the file)."""

    def __init__(self, run_dir: str | Path, *, processes: int = 1, interval_s: float = HEARTBEAT_INTERVAL_S):
        self.path = Path(run_dir) / STATUS_FILE
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = {
            "status": "starting",
            "message": "",
            "step": 0,
            "max_steps": 0,
            "eta_s": None,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "processes": processes,
            "started": time.time(),
        }

    def update(self, **changes) -> None:
        with self._lock:
            self._state.update(changes)
            self._write()

    def _write(self) -> None:
        self._state["heartbeat"] = time.time()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.path, self._state)

    def on_event(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "status":
            status = str(event.get("status", ""))
            status = {"started": "running", "resumed": "running"}.get(status, status)
            retry = {"retry": event["retry"]} if event.get("retry") else {}  # an out-of-memory failure's retry
            self.update(status=status, message=str(event.get("message", "")), **retry)
        elif kind == "log":
            self.update(
                step=int(event.get("step") or 0), max_steps=int(event.get("max_steps") or 0), eta_s=event.get("eta_s")
            )

    def start(self) -> RunStatusFile:
        try:
            self.update()
        except OSError as exc:  # the first write is where an unwritable run folder shows
            raise TrainingError(
                f"Cannot write the run folder {self.path.parent} ({exc.strerror or exc}); choose a folder you can write to."
            ) from None
        self._thread = threading.Thread(target=self._beat, name="ift-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                try:
                    self._write()
                except OSError:  # a full disk must not kill the training; the watcher sees a stale beat
                    pass

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 1)


@dataclass
class RunStatus:
    """What a watcher knows about a run in another process."""

    state: str  # "live" | "ended" | "interrupted" | "absent" (no status file: an in-app run)
    status: str = ""
    message: str = ""
    step: int = 0
    max_steps: int = 0
    eta_s: float | None = None
    pid: int | None = None
    processes: int = 1
    heartbeat_age_s: float | None = None
    retry: dict | None = None  # a run that ran out of memory: the settings to retry with

    @property
    def is_live(self) -> bool:
        return self.state == "live"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process nobody has reaped yet (a zombie) is not training
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _heartbeat_age(data: dict, now: float | None) -> float | None:
    beat = data.get("heartbeat")
    return (now or time.time()) - float(beat) if isinstance(beat, (int, float)) else None


def training_process_state(
    run_dir: str | Path, data: dict | None, *, stale_after_s: float = STALE_AFTER_S, now: float | None = None
) -> str:
    """The one judgement of whether the process training ``run_dir`` lives: "live" or "interrupted".

    ``data`` is the run's ``status.json`` (None when there is none). Evidence, strongest first: the run
    lock held by a live process; the status file's pid on this host (it may take a while to start
    beating); the heartbeat of a run on another host, live while fresher than ``stale_after_s``; with
    no status file the lock alone, where this system has locks (without them no run is judged dead)."""
    if is_being_trained(run_dir):
        return "live"
    if data is None:
        return "interrupted" if CAN_TELL_LIVE_RUNS else "live"
    pid = data.get("pid") if isinstance(data.get("pid"), int) else None
    if pid is not None and data.get("host") == socket.gethostname():
        return "live" if _pid_alive(pid) else "interrupted"  # on this machine the process itself answers
    age = _heartbeat_age(data, now)
    return "interrupted" if age is None or age > stale_after_s else "live"


def _read_status_file(run_dir: str | Path) -> dict | None:
    """``status.json`` as a dict; None when absent; raises ValueError when unreadable."""
    try:
        data = json.loads((Path(run_dir) / STATUS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def shown_status(status: str, run_dir: str | Path) -> str:
    """The status to show for a run whose record says ``status``: "running" only while a process really
    trains it (:func:`training_process_state`), else "interrupted"."""
    if status != "running":
        return status
    try:
        data = _read_status_file(run_dir)
    except ValueError:  # half-written or damaged: the lock alone tells
        data = None
    return "running" if training_process_state(run_dir, data) == "live" else "interrupted"


def read_run_status(
    run_dir: str | Path, *, stale_after_s: float = STALE_AFTER_S, now: float | None = None
) -> RunStatus:
    """Read ``status.json``: ended, live, or interrupted (decided by :func:`training_process_state`)."""
    try:
        data = _read_status_file(run_dir)
    except ValueError:  # half-visible or damaged: treat as unknown, never as dead
        return RunStatus("live", status="unknown", message="status file unreadable")
    if data is None:
        return RunStatus("absent")
    status = str(data.get("status", ""))
    pid = data.get("pid") if isinstance(data.get("pid"), int) else None
    if status in ENDED:
        state = "ended"
    else:
        state = training_process_state(run_dir, data, stale_after_s=stale_after_s, now=now)
    return RunStatus(
        state=state,
        status=status,
        message=str(data.get("message", "")),
        step=int(data.get("step") or 0),
        max_steps=int(data.get("max_steps") or 0),
        eta_s=data.get("eta_s"),
        pid=pid,
        processes=int(data.get("processes") or 1),
        heartbeat_age_s=_heartbeat_age(data, now),
        retry=data.get("retry") if isinstance(data.get("retry"), dict) else None,
    )


def mark_ended(run_dir: str | Path, status: str, message: str) -> None:
    """Record an ending the training process could not write itself (its launcher saw it die)."""
    path = Path(run_dir) / STATUS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data.update(status=status, message=message, heartbeat=time.time())
    atomic_write_json(path, data)


# ----------------------------------------------------------------------------------- control file
def write_control(run_dir: str | Path, state: str) -> None:
    """Ask the run in ``run_dir`` to ``run`` (go on / resume), ``pause`` or ``stop`` (saving first)."""
    if state not in CONTROL_STATES:
        raise ValueError(f"control state must be one of {CONTROL_STATES}, not {state!r}")
    atomic_write_json(Path(run_dir) / CONTROL_FILE, {"state": state, "at": time.time()})


def read_control(run_dir: str | Path) -> str:
    try:
        data = json.loads((Path(run_dir) / CONTROL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "run"
    state = data.get("state") if isinstance(data, dict) else None
    return state if state in CONTROL_STATES else "run"


class ControlFileWatcher:
    """The training side: applies ``control.json`` to a ``TrainingControl`` a few times a second."""

    def __init__(
        self, run_dir: str | Path, control, *, interval_s: float = 0.3, on_change: Callable[[str], None] | None = None
    ):
        self.run_dir = Path(run_dir)
        self.control = control
        self.interval_s = interval_s
        self.on_change = on_change
        self._last = "run"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="ift-control-file", daemon=True)

    def start(self) -> ControlFileWatcher:
        self._thread.start()
        return self

    def poll(self) -> None:
        state = read_control(self.run_dir)
        if state == self._last:
            return
        self._last = state
        if state == "stop":
            self.control.request_stop()
        elif state == "pause":
            self.control.request_pause()
        else:
            self.control.request_resume()
        if self.on_change is not None:
            self.on_change(state)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval_s + 1)
