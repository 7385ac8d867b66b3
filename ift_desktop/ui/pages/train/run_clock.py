"""The Train page's clock: elapsed time and time left, ticking between the run's logged steps.

The trainer reports ``elapsed_s`` and ``eta_s`` only when it logs a step (every few seconds to
minutes); :class:`RunClock` keeps both moving in between from its own monotonic clock, stands still
while the run is paused, and never shows an elapsed time smaller than one it showed before.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RunClock:
    def __init__(self, now: Callable[[], float] = time.monotonic):
        self._now = now
        self._base = 0.0  # elapsed seconds at ``_mark``
        self._mark: float | None = None  # None: not running (not started, paused or ended)
        self._eta: float | None = None
        self._eta_mark = 0.0
        self._shown = 0.0

    def start(self, elapsed_s: float = 0.0) -> None:
        """A run (or its continuation, which starts at its earlier training time) begins."""
        self._base, self._shown, self._eta = float(elapsed_s), float(elapsed_s), None
        self._mark = self._now()

    def update(self, elapsed_s: float | None, eta_s: float | None) -> None:
        """A logged step's figures; the clock goes on from the larger of them and its own count."""
        now = self._now()
        current = self.elapsed_s()
        if elapsed_s is not None:
            current = max(current, float(elapsed_s))
        self._base = current
        if self._mark is not None:
            self._mark = now
        self._eta, self._eta_mark = (float(eta_s) if eta_s is not None else None), now

    def pause(self) -> None:
        self._base = self.elapsed_s()
        if self._mark is not None and self._eta is not None:
            self._eta = max(0.0, self._eta - (self._now() - self._eta_mark))
        self._mark = None

    def resume(self) -> None:
        if self._mark is None:
            self._mark = self._eta_mark = self._now()

    def stop(self) -> None:
        self.pause()
        self._eta = None

    @property
    def running(self) -> bool:
        return self._mark is not None

    def elapsed_s(self) -> float:
        elapsed = self._base + (self._now() - self._mark if self._mark is not None else 0.0)
        self._shown = max(self._shown, elapsed)
        return self._shown

    def eta_s(self) -> float | None:
        if self._eta is None:
            return None
        if self._mark is None:
            return self._eta
        return max(0.0, self._eta - (self._now() - self._eta_mark))
