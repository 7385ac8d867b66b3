"""One training process per run folder, and telling a live run from a dead one.

While a process trains into ``RUN/`` it holds an exclusive ``flock`` on ``RUN/.ift-train.lock``. The
operating system drops the lock when the process ends, however it ends (kill -9, a crash, a power
cut), so the lock never needs cleaning up: a run whose ``run.json`` says "running" but whose lock
nobody holds was interrupted. The lock file stays in the folder (deleting a lock file races with
the next process opening it). Where ``fcntl`` is missing (Windows) no lock is taken and no run is
judged dead.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..errors import TrainingError

LOCK_NAME = ".ift-train.lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


CAN_TELL_LIVE_RUNS = fcntl is not None
_HELD: set[Path] = set()  # the run folders this process trains into now


def lock_path(run_dir: str | Path) -> Path:
    return Path(run_dir).expanduser() / LOCK_NAME


class RunLock:
    """``with RunLock(run_dir):`` holds the run folder for this process, or raises :class:`TrainingError`."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir).expanduser()
        self._handle = None
        self._created_folder = False

    def acquire(self) -> RunLock:
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise TrainingError(f"{self.run_dir} is a file; choose a folder for the run.")
        try:
            self._created_folder = not self.run_dir.exists()
            self.run_dir.mkdir(parents=True, exist_ok=True)
            handle = open(lock_path(self.run_dir), "a+", encoding="utf-8")
        except OSError as exc:
            raise TrainingError(
                f"Cannot write the run folder {self.run_dir} ({exc.strerror or exc}); choose a folder you can write to."
            ) from None
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                holder = handle.read().strip()
                handle.close()
                who = f" (process {holder})" if holder.isdigit() else ""
                raise TrainingError(
                    f"{self.run_dir} is being trained by another process{who}; wait for it to end, "
                    "or choose another folder for this run."
                ) from None
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        self._handle = handle
        _HELD.add(self.run_dir.resolve())
        return self

    def release(self) -> None:
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        _HELD.discard(self.run_dir.resolve())
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
        handle.close()  # closing drops the flock
        if self._created_folder:  # nothing was made: leave no folder behind that was not there before
            with contextlib.suppress(OSError):
                if {p.name for p in self.run_dir.iterdir()} <= {LOCK_NAME}:
                    lock_path(self.run_dir).unlink(missing_ok=True)
                    self.run_dir.rmdir()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_being_trained(run_dir: str | Path) -> bool:
    """Whether a live process (this one included) holds the run folder's training lock."""
    path = lock_path(run_dir)
    if fcntl is None or not path.is_file():
        return False
    try:
        with open(path, encoding="utf-8") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError:
        return False
    return False


def is_held_by_another(run_dir: str | Path) -> bool:
    """Whether a process other than this one holds the run folder (what this process holds is not counted)."""
    if Path(run_dir).expanduser().resolve() in _HELD:
        return False
    return is_being_trained(run_dir)
