"""One training run seen from the UI thread: start it in a QThread, pause / resume / stop it,
and turn the trainer's plain-dict events into a Qt signal.

The trainer runs through :func:`ift_desktop.ui.workers.run_in_thread`. Pause and stop are
requests on a :class:`~ift_desktop.core.training.TrainingControl` (``threading.Event``\\ s read by
the Trainer callback), never queued signals: the worker thread's event loop is busy training.
Events are emitted from the worker thread through :class:`_EventBridge`, a QObject that lives on
the UI thread, so Qt queues them to the page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ift_desktop.ui.workers import TaskHandle, run_in_thread


class _EventBridge(QObject):
    event = Signal(object)


def preload_trainer(state=None) -> None:
    """Import the training code (transformers, peft: seconds) in a worker, never on the UI thread.

    Then freeze the garbage collector's view of everything imported so far: those hundreds of
    thousands of long-lived objects would otherwise be scanned by every full collection, a pause of
    ~0.7 s on the UI thread in the middle of a run (measured here)."""
    import gc
    import importlib

    from ift_desktop.core.libraries import warm_up

    warm_up()  # before the cost estimate's worker asks transformers for names (core/libraries.py)
    importlib.import_module("ift_desktop.core.training.callbacks")
    importlib.import_module("ift_desktop.core.training")
    gc.freeze()


def default_train_function() -> Callable[..., Any]:
    from ift_desktop.core.training import run_training

    return run_training


def new_control():
    from ift_desktop.core.training.callbacks import TrainingControl

    return TrainingControl()


class TrainingSession(QObject):
    """A run in progress. Signals arrive on the UI thread.

    ``event(dict)``: each trainer event; ``finished(result)``: the run returned (stopped runs
    return too); ``failed(message, details, is_user_error)``, with the exception itself in
    :attr:`error` (e.g. a ``TrainingOutOfMemory`` and its retry); ``ended()``: always last, once the
    thread has finished.
    """

    event = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str, bool)
    ended = Signal()

    def __init__(
        self,
        train_function: Callable[..., Any],
        config,
        *,
        data_dir: Path,
        model,
        out_dir: Path,
        resume: bool = False,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.config = config
        self.out_dir = Path(out_dir)
        self.resume = resume
        self.control = new_control()
        self.paused = False
        self.stop_requested = False
        self.error: BaseException | None = None  # set in the worker before ``failed`` is queued
        self._bridge = _EventBridge(self)
        self._bridge.event.connect(self._on_event)
        self._handle: TaskHandle = run_in_thread(
            self,
            self._keeping_the_error(train_function),
            config,
            data_dir=Path(data_dir),
            model=model,
            out_dir=self.out_dir,
            on_event=self._bridge.event.emit,
            control=self.control,
            resume=resume,
        )
        worker = self._handle.worker
        worker.finished.connect(self.finished)
        worker.failed.connect(self.failed)
        worker.cancelled.connect(lambda: self.finished.emit(None))
        self._handle.thread.finished.connect(self.ended)  # the thread has really ended

    def _keeping_the_error(self, train_function: Callable[..., Any]) -> Callable[..., Any]:
        """``train_function`` that keeps what it raised in :attr:`error` (the worker's ``failed``
        signal carries only its text)."""

        def train(*args, **kwargs):
            try:
                return train_function(*args, **kwargs)
            except BaseException as exc:
                self.error = exc
                raise

        return train

    def _on_event(self, event: object) -> None:
        if isinstance(event, dict):
            self.event.emit(event)

    # control ------------------------------------------------------------------------------------
    def pause(self) -> None:
        self.control.request_pause()
        self.paused = True

    def resume_training(self) -> None:
        self.control.request_resume()
        self.paused = False

    def stop(self) -> None:
        """Ask the trainer to stop at the next step and save a checkpoint (returns at once)."""
        self.stop_requested = True
        self.control.request_stop()
        if self.paused:  # a paused loop waits on the resume event; let it see the stop
            self.control.request_resume()
            self.paused = False

    def is_running(self) -> bool:
        return self._handle.is_running()

    def wait(self, timeout_ms: int) -> bool:
        """Block until the thread ended (shutdown and tests only; never from a slot)."""
        return self._handle.wait(timeout_ms)
