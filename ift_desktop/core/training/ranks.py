"""Which process of a launched run this is, and the run folder as this process may touch it.

A run launched on several processes (``accelerate launch`` / ``torchrun``) starts the same entry
point once per rank; the launcher tells each its place through ``RANK`` / ``WORLD_SIZE`` /
``LOCAL_RANK``. Only rank 0 writes the run folder (``run.json``, ``metrics.jsonl``,
``probes.jsonl``, the adapter or model, the status file) and holds the run's lock: call
:func:`is_main_process` for that gate. It reads the environment only, so it answers before and
after ``torch.distributed`` is set up, and in a plain one-process run it is always true.
"""

from __future__ import annotations

import os
from pathlib import Path

from .run_folder import RunFolder

# how long a rank waits in a collective (all-reduce, barrier) before giving up: long enough for a
# checkpoint save or the probe answers on rank 0, short enough that a lost peer ends the run
PROCESS_GROUP_TIMEOUT_S = int(os.environ.get("IFT_DESKTOP_PROCESS_GROUP_TIMEOUT_S", "600"))


def rank() -> int:
    """This process's global rank (0 in a one-process run)."""
    return _env_int("RANK", 0)


def world_size() -> int:
    """How many processes train this run together (1 in a one-process run)."""
    return max(1, _env_int("WORLD_SIZE", 1))


def local_rank() -> int:
    return _env_int("LOCAL_RANK", 0)


def is_main_process() -> bool:
    """True in the one process that writes the run folder (rank 0, or a one-process run)."""
    return rank() == 0


def is_launched() -> bool:
    """True inside a process started by ``accelerate launch`` / ``torchrun`` with several ranks."""
    return world_size() > 1


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


class SilentRunFolder(RunFolder):
    """The run folder as seen by ranks other than 0: read like any run, never written.

    Rank 0 writes every file; the other ranks train the same steps and must leave exactly one copy
    of each file (DESIGN.md: both ranks used to write every metrics line and save the adapter)."""

    def check_new(self) -> None:  # rank 0 checks (and may already have written run.json)
        return None

    def write_record(self, record: dict) -> None:
        return None

    def update_record(self, **changes) -> dict:
        return {}

    def append_metrics(self, row: dict) -> None:
        return None

    def append_probe(self, row: dict) -> None:
        return None

    def cut_logs_after(self, step: int) -> list[dict]:
        return [row for row in self.read_metrics() if int(row.get("step", 0)) <= step]


class MainRunFolder(RunFolder):
    """Rank 0's run folder in a launched run: ``run.json`` also records how it was launched."""

    def __init__(self, path: str | Path, launch: dict):
        super().__init__(path)
        self.launch = launch

    def write_record(self, record: dict) -> None:
        super().write_record({**record, "launch": self.launch})


def run_folder_for_this_process(path: str | Path, config=None) -> RunFolder:
    """The :class:`RunFolder` this process writes through (a silent one on ranks other than 0).

    In a launched run rank 0's ``run.json`` gets ``launch``: the number of processes, the batch
    and accumulation of each process (``config``) and the global batch they add up to."""
    if not is_main_process():
        return SilentRunFolder(path)
    if is_launched():
        launch = {"processes": world_size()}
        if config is not None:
            launch.update(
                per_process_batch=config.batch_size,
                per_process_grad_accum=config.grad_accum,
                global_batch=config.batch_size * config.grad_accum * world_size(),
            )
        return MainRunFolder(path, launch)
    return RunFolder(path)
