"""Follow a run that trains in another process, as the same events an in-app run emits.

:meth:`RunTail.poll` reads what was appended to ``metrics.jsonl`` and ``probes.jsonl`` since the
last call and what ``status.json`` says now, and returns the event dicts of docs/ARCHITECTURE.md
(``log``, ``eval``, ``probe``, ``status``). The app calls it from a timer a few times a second;
each call reads only the new bytes. A log that got shorter (a resumed run cut it back to its
checkpoint) is read again from the start.
"""

from __future__ import annotations

from pathlib import Path

from ..atomic import jsonl_rows
from .heartbeat import RunStatus, read_run_status
from .run_folder import RunFolder


class _Lines:
    """New complete lines of a growing JSON Lines file."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.restarted = False

    def read(self) -> list[dict]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self.offset:  # rewritten shorter (cut back on resume): start over
            self.offset = 0
            self.restarted = True
        if size == self.offset:
            return []
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read(size - self.offset)
        end = chunk.rfind(b"\n")
        if end < 0:
            return []  # a line still being written
        self.offset += end + 1
        return jsonl_rows(chunk[: end + 1])


class RunTail:
    """The events of the run in ``run_dir`` since the last :meth:`poll`."""

    def __init__(self, run_dir: str | Path, *, stale_after_s: float | None = None):
        self.run = RunFolder(run_dir)
        self.stale_after_s = stale_after_s
        self._metrics = _Lines(self.run.metrics_path)
        self._probes = _Lines(self.run.probes_path)
        self._last_status = ""
        self.status = RunStatus("absent")

    def poll(self) -> list[dict]:
        kwargs = {"stale_after_s": self.stale_after_s} if self.stale_after_s else {}
        self.status = read_run_status(self.run.path, **kwargs)
        events: list[dict] = []
        for row in self._metrics.read():
            events.append({"type": "log", **row, "max_steps": self.status.max_steps, "eta_s": self.status.eta_s})
            if row.get("eval_loss") is not None:
                events.append({"type": "eval", "step": row.get("step"), "eval_loss": row["eval_loss"]})
        for row in self._probes.read():
            events.append({"type": "probe", "step": row.get("step", 0), "answers": row.get("answers") or []})
        shown = {"running": "started"}.get(self.status.status, self.status.status)
        if self.status.state != "absent" and shown and shown != self._last_status:
            if not (shown == "started" and self._last_status == "paused"):
                events.append({"type": "status", "status": shown, "message": self.status.message})
            else:
                events.append({"type": "status", "status": "resumed", "message": self.status.message})
            self._last_status = shown
        return events

    @property
    def restarted(self) -> bool:
        """The metrics log was rewritten shorter since the last look (consumed by reading it)."""
        value, self._metrics.restarted = self._metrics.restarted, False
        return value

    def result(self) -> dict:
        """The ended run's numbers, from ``run.json`` (what the app shows when a run ends)."""
        try:
            record = self.run.read_record()
        except Exception:  # noqa: BLE001 - a run killed before writing run.json has none
            record = {}
        return {
            "status": record.get("status") or self.status.status,
            "run_dir": self.run.path,
            "global_step": record.get("global_step", self.status.step),
            "final_loss": record.get("final_loss"),
            "final_eval_loss": record.get("final_eval_loss"),
            "elapsed_s": record.get("elapsed_s"),
            "error": record.get("error"),
        }


def live_runs(run_dirs) -> list[Path]:
    """The folders among ``run_dirs`` whose training process is alive now (newest heartbeat first)."""
    found = []
    for folder in run_dirs:
        status = read_run_status(folder)
        if status.is_live:
            found.append((status.heartbeat_age_s or 0.0, Path(folder)))
    return [folder for _age, folder in sorted(found, key=lambda item: item[0])]
