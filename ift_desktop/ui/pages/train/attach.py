"""A run in another process, seen from the Train page as if it ran in the app.

:class:`AttachedRun` has the interface of :class:`~.session.TrainingSession` (signals ``event``,
``finished``, ``failed``, ``ended``; ``pause`` / ``resume_training`` / ``stop``), so the page draws
the same curves, probe answers and buttons. It follows the run's files from a 4 Hz ``QTimer``
(:class:`~ift_desktop.core.training.run_tail.RunTail` reads only the new bytes) and steers it through
``RUN/control.json``. :func:`start_separate_run` starts a run as a separate process (detached:
it outlives the window).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QObject, QTimer, Signal

POLL_MS = 250


class AttachedRun(QObject):
    event = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str, bool)
    ended = Signal()

    separate_process = True

    def __init__(self, run_dir: str | Path, parent: QObject | None = None, *, poll_ms: int = POLL_MS):
        from ift_desktop.core.training.run_tail import RunTail

        super().__init__(parent)
        self.out_dir = Path(run_dir)
        self.tail = RunTail(self.out_dir)
        self.paused = False
        self.stop_requested = False
        self.error: Exception | None = None  # why the run failed, as far as its files tell
        self._running = True
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)
        self._timer.start()
        QTimer.singleShot(0, self.poll)

    # following ------------------------------------------------------------------------------------
    def poll(self) -> None:
        if not self._running:
            return
        for event in self.tail.poll():
            if event.get("type") == "status":
                self.paused = event.get("status") == "paused"
            self.event.emit(event)
        state = self.tail.status.state
        if state == "ended":
            self._end_with(self.tail.status.status, self.tail.status.message)
        elif state == "interrupted":
            self._end(failed=(
                f"The training process of run {self.out_dir.name} is gone without finishing (killed, crashed or the "
                "machine restarted); it shows as interrupted — continue it from its last checkpoint."
            ))  # fmt: skip

    def _end_with(self, status: str, message: str) -> None:
        if status == "failed":
            message = message or f"Run {self.out_dir.name} failed; see launch.log in its folder."
            if self.tail.status.retry:  # it ran out of memory: the page offers the retry it names
                from ift_desktop.core.errors import TrainingOutOfMemory

                self.error = TrainingOutOfMemory(message, retry_changes=self.tail.status.retry)
            self._end(failed=message)
        else:
            self._end(result=SimpleNamespace(**self.tail.result()))

    def _end(self, *, result=None, failed: str | None = None) -> None:
        self._running = False
        self._timer.stop()
        if failed is not None:
            self.failed.emit(failed, "", True)
        else:
            self.finished.emit(result)
        self.ended.emit()

    def detach(self) -> None:
        """Stop following; the run goes on in its own process."""
        self._running = False
        self._timer.stop()

    # control --------------------------------------------------------------------------------------
    def _write(self, state: str) -> None:
        from ift_desktop.core.training.heartbeat import write_control

        write_control(self.out_dir, state)

    def pause(self) -> None:
        self._write("pause")
        self.paused = True

    def resume_training(self) -> None:
        self._write("run")
        self.paused = False

    def stop(self) -> None:
        self.stop_requested = True
        self._write("stop")
        self.paused = False

    def is_running(self) -> bool:
        return self._running

    def wait(self, timeout_ms: int) -> bool:  # nothing of ours to wait for: the run has its own process
        return True


def start_separate_run(
    spec, data_dir, config, out_dir: Path, *, processes: int, strategy: str, resume: bool = False
) -> int:
    """Write ``RUN/launch.json`` and start ``ift-desktop train --config`` detached; returns its pid.

    Consent to run a model's own code is passed on the command line, never through the file."""
    from ift_desktop.core.training.heartbeat import RunStatusFile, write_control
    from ift_desktop.core.training.launch import split_global_batch
    from ift_desktop.core.training.run_file import RUN_FILE_NAME, RunFile, write_run_file
    from ift_desktop.core.training.supervisor import start_detached, train_argv

    split_global_batch(config.batch_size, config.grad_accum, processes)  # refuse an uneven share before starting
    out_dir = Path(out_dir)
    write_run_file(out_dir, RunFile(config, spec, Path(data_dir), processes=processes, strategy=strategy))
    write_control(out_dir, "run")
    argv = train_argv(out_dir / RUN_FILE_NAME, out_dir, resume=resume)
    if getattr(spec, "trust_remote_code", False):
        argv.append("--trust-remote-code")
    pid = start_detached(argv, out_dir)
    RunStatusFile(out_dir, processes=processes).update(
        status="starting", message="Starting the training process…", pid=pid
    )
    return pid
