"""A Qt-free progress and cancellation object for long work (the Orange3 ``state`` pattern).

Long core functions take ``state: TaskState | None`` and call ``state.report(...)`` and
``state.check_cancelled()``. The UI's worker builds a TaskState whose callbacks emit Qt signals;
the CLI builds one that draws a terminal progress line; tests pass ``None`` or a recording one.

A stage of a longer task reports into its own sub-range of the bar with ``state.span(lo, hi, prefix)``
(or the None-safe :func:`span`): the stage counts 0..1, the whole bar sees ``lo``..``hi``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .errors import Cancelled

ProgressCallback = Callable[[float | None, str], None]


def span(state: TaskState | None, lo: float, hi: float, prefix: str | None = None) -> TaskState | None:
    """``state.span(lo, hi, prefix)``, or None when there is no state (the callers that report nothing)."""
    return None if state is None else state.span(lo, hi, prefix)


class TaskState:
    """Progress reporting plus cooperative cancellation.

    ``report(fraction, message)`` forwards to ``on_progress`` only when something visible
    changed (the fraction moved by at least 0.5 % or the message changed), so hot loops may
    call it freely. ``fraction`` is 0..1, or ``None`` when the amount of work is unknown.
    """

    def __init__(
        self,
        on_progress: ProgressCallback | None = None,
        cancel_event: threading.Event | None = None,
        on_partial: Callable[[object], None] | None = None,
    ):
        self._on_progress = on_progress
        self._on_partial = on_partial
        self.cancel_event = cancel_event or threading.Event()
        self._last: tuple[float | None, str] | None = None

    # progress -------------------------------------------------------------------------------
    def report(self, fraction: float | None, message: str = "") -> None:
        if fraction is not None:
            fraction = min(1.0, max(0.0, float(fraction)))
        last = self._last
        if last is not None and last[1] == message:
            if fraction is None or last[0] is None:
                if fraction is last[0]:
                    return
            elif abs(fraction - last[0]) < 0.005 and fraction < 1.0:
                return
        self._last = (fraction, message)
        if self._on_progress is not None:
            self._on_progress(fraction, message)

    def span(self, lo: float, hi: float, prefix: str | None = None) -> TaskState:
        """A state for one stage: its 0..1 lands in ``[lo, hi]`` of this bar, its messages read
        ``"<prefix>: <message>"`` when a prefix is given; same cancel flag, same partial results."""

        def forward(fraction: float | None, message: str) -> None:
            shown = f"{prefix}: {message}" if prefix else message
            self.report(None if fraction is None else lo + (hi - lo) * fraction, shown)

        return TaskState(on_progress=forward, cancel_event=self.cancel_event, on_partial=self.partial)

    def partial(self, result: object) -> None:
        """Hand a partial result (a finished row, a logged step) to whoever watches."""
        if self._on_partial is not None:
            self._on_partial(result)

    # cancellation ---------------------------------------------------------------------------
    def cancel(self) -> None:
        self.cancel_event.set()

    def is_cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` if the user asked to stop."""
        if self.cancel_event.is_set():
            raise Cancelled()
