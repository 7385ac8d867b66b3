"""How every command shows progress on stderr: one redrawn line on a terminal; in pipes and logs a
plain line per tenth (or nothing), so logs stay readable and stdout stays the command's result."""

from __future__ import annotations

import sys

from ift_desktop.core.progress import TaskState


def percent(fraction: float | None, digits: int = 0) -> str:
    """`` 42%`` (with ``digits`` decimals), or nothing when the share is unknown."""
    return f" {fraction * 100:{4 + digits if digits else 3}.{digits}f}%" if fraction is not None else ""


def redraw_line(stream, text: str) -> None:
    """Replace the terminal's current line with ``text`` (no newline: the next redraw overwrites it)."""
    stream.write(f"\r{text}\033[K")
    stream.flush()


def clear_line(stream) -> None:
    stream.write("\r\033[K")
    stream.flush()


class TerminalProgress:
    """A :class:`TaskState` drawn on ``stream`` (stderr): redrawn on a terminal; otherwise a plain line
    per tenth of the work, or nothing with ``lines_in_pipes=False``. :meth:`clear` before printing results."""

    def __init__(self, stream=None, *, lines_in_pipes: bool = True):
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.lines_in_pipes = lines_in_pipes
        self.shown = False
        self._tenth = -1

    def state(self) -> TaskState:
        self._tenth = -1
        return TaskState(on_progress=self._show if self.enabled else self._log)

    def _show(self, fraction, message):
        self.shown = True
        redraw_line(self.stream, f"{message}{percent(fraction)}")

    def _log(self, fraction, message):
        if not self.lines_in_pipes or fraction is None or int(fraction * 10) <= self._tenth:
            return
        self._tenth = int(fraction * 10)
        print(f"[{fraction * 100:3.0f}%] {message}", file=self.stream, flush=True)

    def clear(self):
        self._tenth = -1
        if self.shown:
            clear_line(self.stream)
            self.shown = False
