"""The Train page: choose (left), then start, watch and steer a run (right).

The run itself is a :class:`TrainingSession` (a QThread worker around ``run_training``); this
page only turns its events into curves, a progress bar with ETA, log lines, plain-language hints
and the probe answers, and keeps the buttons honest about what can be done now.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.errors import TrainingOutOfMemory, UserError
from ift_desktop.core.training.resumable import ResumableRun, load_resumable, resumable_runs
from ift_desktop.core.training.run_folder import RunFolder
from ift_desktop.ui.task_runner import TaskRunner
from ift_desktop.ui.widgets.curves import TrainingCurves
from ift_desktop.ui.widgets.messages import InlineMessage

from .attach import AttachedRun, start_separate_run
from .hints import CurveReader
from .probes import ProbeHistory
from .run_clock import RunClock
from .run_file_actions import open_run_file, save_run_file
from .session import TrainingSession, default_train_function, preload_trainer
from .setup_panel import SetupPanel

LOG_LINES = 5000


def _clock(seconds) -> str:
    if seconds is None or not math.isfinite(float(seconds)) or seconds < 0:
        return "–"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _num(value, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) and math.isfinite(value) else "–"


class TrainPage(QWidget):
    """Train page. ``train_function`` may be replaced (tests use a scripted trainer)."""

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.train_function = None  # None: ift_desktop.core.training.run_training
        self.session: TrainingSession | None = None
        self._previous_session: TrainingSession | None = None
        self.last_run: Path | None = None
        self._config = None  # the TrainConfig of the current or last run
        self._retry_changes: dict = {}  # settings offered after an out-of-memory failure
        self.reader = CurveReader()
        self._max_steps = 0
        self._ended_status = ""
        self.trainer_ready = False  # the training code is imported in a worker first
        self._last_log: dict | None = None
        self._pending_lines: list[str] = []
        self.clock = RunClock()
        self._phase_text = ""  # what the run does now (status line), applied by the 10 Hz refresh
        self._precision = ""  # e.g. "fp32", from the run's "started" event
        self._tokens_per_s: float | None = None
        self._clock_on = False  # the speed line ticks from Start on
        self._view_timer = QTimer(self)
        self._view_timer.setInterval(100)
        self._view_timer.timeout.connect(self._refresh_view)
        self._view_timer.start()

        title = QLabel("Train")
        title.setObjectName("PageTitle")
        self.setup = SetupPanel(context)

        # right side: controls, progress, messages, curves, log / probes
        self.run_name = QLineEdit()
        self.run_name.setPlaceholderText("run name (optional)")
        self.run_name.setToolTip("The run's folder name in the workspace; a free name is chosen when empty")
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("Primary")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop at the next step and save a checkpoint you can continue from")
        self.pause_button.setToolTip("Hold the run after the current step; nothing is lost")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.stop_button.clicked.connect(self.stop)
        controls = QVBoxLayout()  # the name on its own line, so narrow windows keep both readable
        controls.addWidget(self.run_name)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        controls.addLayout(buttons)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("not started")
        self.progress.setTextVisible(True)
        self.status = QLabel("Choose a model and a dataset, then press Start.")
        self.status.setObjectName("Hint")
        self.status.setWordWrap(True)  # a long status wraps; it never widens the window
        self.speed = QLabel()  # precision · tokens/s · elapsed · time left, once a run started
        self.speed.setObjectName("Hint")
        # its line is always there: a label appearing at Start would resize (and redraw) the charts
        self.speed.setMinimumHeight(self.speed.fontMetrics().height())
        self.message = InlineMessage()
        self.hint = InlineMessage()

        self.after_run = QWidget()
        after = QVBoxLayout(self.after_run)
        after.setContentsMargins(0, 0, 0, 0)
        self.after_label = QLabel()
        self.after_label.setWordWrap(True)
        self.evaluate_button = QPushButton("Evaluate this run")
        self.evaluate_button.setObjectName("Primary")
        self.evaluate_button.clicked.connect(self._evaluate_run)
        self.continue_button = QPushButton("Continue training")
        self.continue_button.setToolTip("Resume this run from its last checkpoint; the curve continues")
        self.continue_button.clicked.connect(self._continue_last)
        self.retry_button = QPushButton()
        self.retry_button.clicked.connect(self._retry_with_less_memory)
        after.addWidget(self.after_label)
        after_buttons = QHBoxLayout()
        after_buttons.addStretch(1)
        after_buttons.addWidget(self.retry_button)
        after_buttons.addWidget(self.continue_button)
        after_buttons.addWidget(self.evaluate_button)
        after.addLayout(after_buttons)
        self.after_run.hide()

        self.resume_row = QWidget()
        resume_layout = QHBoxLayout(self.resume_row)
        resume_layout.setContentsMargins(0, 0, 0, 0)
        self.resume_combo = QComboBox()
        self.resume_combo.setToolTip("Runs that were stopped and kept a checkpoint")
        self.resume_run_button = QPushButton("Continue run")
        self.resume_run_button.clicked.connect(self._continue_selected)
        resume_layout.addWidget(QLabel("Continue a stopped run:"))
        resume_layout.addWidget(self.resume_combo, 1)
        resume_layout.addWidget(self.resume_run_button)

        self.curves = TrainingCurves()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.probe_history = ProbeHistory()
        self.probe_history.step_selected.connect(self.curves.mark_step)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.probe_history, "Probe answers")
        self.tabs.addTab(self.log, "Log")

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(12, 0, 0, 0)
        right_layout.addLayout(controls)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.status)
        right_layout.addWidget(self.speed)
        right_layout.addWidget(self.message)
        right_layout.addWidget(self.hint)
        right_layout.addWidget(self.after_run)
        right_layout.addWidget(self.resume_row)
        plots = QSplitter(Qt.Vertical)
        plots.addWidget(self.curves)
        plots.addWidget(self.tabs)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 2)
        plots.setSizes([380, 250])
        right_layout.addWidget(plots, 1)

        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.setup)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([360, 900])  # the form keeps its width; the curves get the rest
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 12)
        layout.addWidget(title)
        layout.addWidget(split, 1)

        context.runs_changed.connect(self._refresh_resumable)
        self.setup.where.save_requested.connect(lambda: save_run_file(self))
        self.setup.where.open_requested.connect(lambda: open_run_file(self))
        self._refresh_resumable()
        QTimer.singleShot(0, self.attach_to_live_run)
        self._preload = TaskRunner(self)  # imports the training code once, off the UI thread
        self._preload.start(preload_trainer, on_done=self._on_trainer_ready, on_failed=self._on_trainer_failed)
        self._update_buttons()

    def _on_trainer_failed(self, message: str) -> None:
        self.message.show_error(f"The training code could not be loaded: {message}")

    def _on_trainer_ready(self, _result=None) -> None:
        self.trainer_ready = True
        self.setup.code_ready()
        self._update_buttons()

    # state ----------------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.session is not None

    def _update_buttons(self) -> None:
        running = self.session is not None
        paused = running and self.session.paused
        stopping = running and self.session.stop_requested
        self.start_button.setEnabled(not running and self.trainer_ready)
        self.start_button.setToolTip("" if self.trainer_ready else "Getting the trainer ready…")
        self.pause_button.setEnabled(running and not paused and not stopping)
        self.resume_button.setEnabled(running and paused and not stopping)
        self.stop_button.setEnabled(running and not stopping)
        self.run_name.setEnabled(not running)
        self.setup.set_enabled_for_run(running)
        offered_above = self.after_run.isVisibleTo(self) and self.continue_button.isVisibleTo(self)
        self.resume_row.setVisible(not running and self.resume_combo.count() > 0 and not offered_above)
        self.resume_run_button.setEnabled(self.trainer_ready)
        self.continue_button.setEnabled(not running and self.trainer_ready)

    def _refresh_resumable(self) -> None:
        current = self.resume_combo.currentData()
        self.resume_combo.clear()
        for path, label in resumable_runs(self.context.workspace):
            self.resume_combo.addItem(label, str(path))
        index = self.resume_combo.findData(current)
        if index >= 0:
            self.resume_combo.setCurrentIndex(index)
        self._update_buttons()

    def _say(self, line: str) -> None:
        self._pending_lines.append(f"{time.strftime('%H:%M:%S')}  {line}")

    # start / continue ------------------------------------------------------------------------------
    def start(self) -> None:
        """Validate the choices and start a new run (errors are shown inline; nothing starts)."""
        if self.session is not None:
            return
        self.message.clear()
        try:
            spec, data_dir, config = self.setup.request()
        except UserError as exc:
            self.message.show_error(exc.one_line())
            return
        base = self.run_name.text().strip() or f"{Path(data_dir).name}-{getattr(config, 'method', 'run')}"
        out_dir = self.context.workspace.new_run_path(base)
        self.setup.model_picker.remember(spec)
        session = self._start_separate(spec, data_dir, config, out_dir, resume=False)
        if session is not False:
            self._begin(spec, data_dir, config, out_dir, resume=False, history=[], session=session)

    def continue_run(self, run_dir: str | Path) -> None:
        """Resume a stopped run from its last checkpoint; the curves continue where they stopped."""
        if self.session is not None:
            return
        self.message.clear()
        try:
            run: ResumableRun = load_resumable(Path(run_dir))
        except UserError as exc:
            self.message.show_error(exc.one_line())
            return
        self.setup.show_config(run.config)
        session = self._start_separate(run.model, run.data_dir, run.config, run.path, resume=True)
        if session is False:
            return
        history = run.history if session is None else []  # a followed run replays its own files
        self._begin(run.model, run.data_dir, run.config, run.path, resume=True, history=history, session=session)
        for row in run.probes if session is None else []:
            self.probe_history.add_answers(row.get("step", 0), row.get("answers") or [])

    def _continue_selected(self) -> None:
        if self.resume_combo.currentData():
            self.continue_run(self.resume_combo.currentData())

    def _continue_last(self) -> None:
        if self.last_run is not None:
            self.continue_run(self.last_run)

    def _start_separate(self, spec, data_dir, config, out_dir: Path, *, resume: bool):
        """Where to run = as a separate process: start it detached and follow it (an
        :class:`AttachedRun`); ``None`` for a run in this app, ``False`` when it could not start."""
        if not self.setup.where.separate():
            return None
        _mode, processes, strategy = self.setup.where.choice()
        try:
            start_separate_run(spec, data_dir, config, out_dir, processes=processes, strategy=strategy, resume=resume)
        except (UserError, OSError) as exc:
            self.message.show_error(
                exc.one_line() if isinstance(exc, UserError) else f"Could not start the process: {exc}"
            )
            return False
        self._show_separate(out_dir, processes)
        return AttachedRun(out_dir, parent=self)

    def attach_to_live_run(self, run_dir: str | Path | None = None) -> bool:
        """Follow a run training in another process (the newest live one in the workspace when
        ``run_dir`` is None): its curves, probe answers and buttons as for a run in this app."""
        from ift_desktop.core.training.run_tail import live_runs

        if self.session is not None:
            return False
        if run_dir is None:
            found = live_runs(item.path for item in self.context.workspace.list_runs())
            if not found:
                return False
            run_dir = found[0]
        try:
            run = load_resumable(Path(run_dir), need_checkpoint=False)
        except UserError as exc:
            self.message.show_error(exc.one_line())
            return False
        from ift_desktop.core.training.heartbeat import read_run_status

        self.setup.show_config(run.config)
        self.setup.model_picker.select(str(run.model))
        self.setup.dataset_picker.select(str(run.data_dir))
        processes = read_run_status(run.path).processes
        self.setup.where.set_choice(processes, separate=True)
        self._begin(run.model, run.data_dir, run.config, run.path, resume=True, history=[],
                    session=AttachedRun(run.path, parent=self))  # fmt: skip
        self._say(f"Attached to run {run.path.name}, training in another process")
        self._show_separate(run.path, processes)
        return True

    def _show_separate(self, run_dir: Path, processes: int) -> None:
        count = f"{processes} processes" if processes > 1 else "its own process"
        self.message.show_info(
            f"Run {Path(run_dir).name} trains in {count}; it goes on if you close the window, and the app finds it again."
        )

    def _begin(self, spec, data_dir, config, out_dir: Path, *, resume: bool, history: list[dict], session=None) -> None:
        self.curves.clear()
        self.curves.load_history(history)
        self.reader.reset()
        for record in history:
            if record.get("eval_loss") is not None:
                self.reader.on_eval(record.get("step", 0), record["eval_loss"])
        self.hint.clear()
        self.after_run.hide()
        self._ended_status = ""
        self._max_steps = int(getattr(config, "max_steps", 0) or 0)
        self.probe_history.set_prompts(list(getattr(config, "probe_prompts", None) or []))
        for record in history:
            if record.get("eval_loss") is not None:
                self.probe_history.add_eval(record.get("step", 0), record["eval_loss"])
        self.last_run = Path(out_dir)
        self._config = config
        previous, self._previous_session = self._previous_session, None
        if previous is not None and not previous.is_running():
            previous.deleteLater()
        if session is None:
            function = self.train_function or default_train_function()
            session = TrainingSession(
                function, config, data_dir=data_dir, model=spec, out_dir=out_dir, resume=resume, parent=self
            )
        self.session = session
        self.session.event.connect(self._on_event)
        self.session.finished.connect(self._on_finished)
        self.session.failed.connect(self._on_failed)
        self.session.ended.connect(self._on_ended)
        self.progress.setRange(0, 0)
        self.progress.setFormat("loading…")
        verb = "Continuing" if resume else "Starting"
        self._phase_text = ""
        self.status.setText(f"{verb} {Path(out_dir).name}: loading {getattr(spec, 'display_name', spec)}…")
        self._precision, self._tokens_per_s = "", None
        earlier = [row.get("elapsed_s") for row in history if isinstance(row.get("elapsed_s"), (int, float))]
        self.clock.start(max(earlier) if earlier else 0.0)
        self._clock_on = True
        self._say(f"{verb} run {Path(out_dir).name} ({getattr(config, 'method', '')}) → {out_dir}")
        self._update_buttons()

    # pause / resume / stop -------------------------------------------------------------------------
    def pause(self) -> None:
        if self.session is not None and not self.session.paused:
            self.session.pause()
            self._set_phase("Pausing after the current step…")
            self._update_buttons()

    def resume(self) -> None:
        if self.session is not None and self.session.paused:
            self.session.resume_training()
            self._set_phase("Resuming…")
            self._update_buttons()

    def stop(self) -> None:
        if self.session is not None and not self.session.stop_requested:
            self.session.stop()
            self._set_phase("Stopping after the current step and saving a checkpoint…")
            self._say("Stop requested")
            self._update_buttons()

    # events ---------------------------------------------------------------------------------------
    def _on_event(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "log":
            self._on_log(event)
        elif kind == "eval":
            step, loss = event.get("step"), event.get("eval_loss")
            self.curves.add_eval(event)
            if isinstance(loss, (int, float)):
                self.probe_history.add_eval(step, loss)
            self._say(f"step {step}: validation loss {_num(loss, '.4f')}")
            self._show_hint(self.reader.on_eval(step, loss))
        elif kind == "probe":
            self.probe_history.add_answers(event.get("step", 0), event.get("answers") or [])
            self._say(f"step {event.get('step')}: {len(event.get('answers') or [])} probe answer(s)")
        elif kind == "checkpoint":
            self._say(f"step {event.get('step')}: checkpoint saved in {event.get('path')}")
        elif kind == "status":
            self._on_status(event)
        elif kind == "warning":
            self.message.show_warning(str(event.get("message", "")))
            self._say(f"warning: {event.get('message', '')}")

    def _set_phase(self, text: str) -> None:
        """The status line says ``text`` from the next view refresh on (events keep their order)."""
        self._phase_text = text

    def _on_log(self, event: dict) -> None:
        """Store the point; the labels and the log pane follow on the next view refresh (10 Hz)."""
        self.curves.add_log(event)
        self._last_log = event
        step = int(event.get("step") or 0)
        total = int(event.get("max_steps") or self._max_steps or 0)
        self.clock.update(event.get("elapsed_s"), event.get("eta_s"))
        if isinstance(event.get("tokens_per_s"), (int, float)):
            self._tokens_per_s = float(event["tokens_per_s"])
        if self.session is None or (not self.session.paused and not self.session.stop_requested):
            self._set_phase(f"Training · step {step} of {total or '?'} · loss {_num(event.get('loss'), '.4f')}")
        self._say(
            f"step {step}/{total or '?'}  loss {_num(event.get('loss'), '.4f')}  lr {_num(event.get('learning_rate'), '.2e')}"
            f"  grad {_num(event.get('grad_norm'), '.3f')}  {_num(event.get('tokens_per_s'), '.0f')} tok/s"
            f"  ETA {_clock(event.get('eta_s'))}"
        )
        self._show_hint(self.reader.on_log(step, event.get("loss")))

    def _refresh_view(self) -> None:
        """Show the latest logged step, what the run does now, the ticking clock and the pending log
        lines (called by a 10 Hz timer)."""
        if self._pending_lines:
            lines, self._pending_lines = self._pending_lines, []
            self.log.appendPlainText("\n".join(lines))
        if self._phase_text and self.status.text() != self._phase_text:
            self.status.setText(self._phase_text)
        if self._clock_on:
            self._show_speed()
        event, self._last_log = self._last_log, None
        if event is None:
            return
        step = int(event.get("step") or 0)
        total = int(event.get("max_steps") or self._max_steps or 0)
        if total:
            self._max_steps = total
            self.progress.setRange(0, total)
            self.progress.setValue(min(step, total))
        self.progress.setFormat(f"step {step} / {total or '?'}")

    def _show_speed(self) -> None:
        parts = []
        if self._precision:
            parts.append(self._precision)
        if self._tokens_per_s is not None:
            parts.append(f"{self._tokens_per_s:,.0f} tokens/s")
        parts.append(f"elapsed {_clock(self.clock.elapsed_s())}")
        eta = self.clock.eta_s()
        if eta is not None and self.clock.running:
            parts.append(f"about {_clock(eta)} left")
        text = "  ·  ".join(parts)
        if self.speed.text() != text:
            self.speed.setText(text)

    def _on_status(self, event: dict) -> None:
        status, text = event.get("status", ""), event.get("message", "")
        if not (status == "validating" and event.get("done")):  # one log line per validation, not per batch
            self._say(f"{status}: {text}" if text else status)
        if status == "started":
            self.context.runs_changed.emit()
            self._precision = event.get("precision") or ""
            self.speed.setToolTip(f"Precision: {event.get('precision_reason') or self._precision}")
            if event.get("precision_reason"):
                self._say(f"precision: {event['precision_reason']}")
            if event.get("memory_reason"):
                self._say(f"memory: {event['memory_reason']}")
            if self.progress.maximum() == 0:
                self.progress.setRange(0, max(1, self._max_steps))
                self.progress.setFormat(f"step 0 / {self._max_steps or '?'}")
            self._set_phase("Training · the first step is running…")
        elif status in ("loading", "tokenizing", "resumed", "stopping", "validating", "probing", "saving") and text:
            self._set_phase(text)
        if status == "paused":
            self.clock.pause()
            self._set_phase(text or "Paused. Press Resume to go on.")
        elif status == "resumed":
            self.clock.resume()
        if status in ("finished", "stopped", "failed"):
            self._ended_status = status
            self.clock.stop()

    def _show_hint(self, hint) -> None:
        if hint is None:
            return
        self.hint.show_message(hint.level, hint.text)
        self._say(f"hint: {hint.text}")

    # the end ---------------------------------------------------------------------------------------
    def _on_finished(self, result) -> None:
        self._refresh_view()
        if result is None:  # stopped while loading: nothing was trained
            self.after_label.setText("Stopped before training started; nothing was trained.")
            self.continue_button.setVisible(False)
            self.retry_button.setVisible(False)
            self.evaluate_button.setVisible(False)
            self.after_run.show()
            self._phase_text = ""
            self.clock.stop()
            self.status.setText("Stopped.")
            self.progress.setRange(0, 1)
            self.progress.setFormat("stopped before the first step")
            return
        status = getattr(result, "status", None) or self._ended_status or "finished"
        stopped = status == "stopped" or (self.session is not None and self.session.stop_requested)
        folder = Path(getattr(result, "run_dir", None) or self.last_run or "")
        self.last_run = folder
        if stopped:
            self.after_label.setText(f"Stopped. Run {folder.name} kept its last checkpoint: continue it now or later.")
        else:
            self.after_label.setText(f"Finished. Run {folder.name} is saved in your workspace.")
        self.continue_button.setVisible(stopped)
        self.retry_button.setVisible(False)
        self.evaluate_button.setVisible(True)
        self.after_run.show()
        summary = [f"step {getattr(result, 'global_step', self._max_steps)}"]
        if getattr(result, "final_loss", None) is not None:
            summary.append(f"last loss {result.final_loss:.4f}")
        if getattr(result, "final_eval_loss", None) is not None:
            summary.append(f"validation loss {result.final_eval_loss:.4f}")
        if getattr(result, "elapsed_s", None) is not None:
            summary.append(f"{_clock(result.elapsed_s)} of training")
        self._phase_text = ""
        self.clock.stop()
        self.status.setText(("Stopped at " if stopped else "Finished at ") + " · ".join(summary))
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self.progress.setFormat(
            self.progress.format().split("  ·  ETA")[0] + ("  ·  stopped" if stopped else "  ·  done")
        )
        self._say(f"Run {folder.name} {'stopped' if stopped else 'finished'}")

    def _on_failed(self, message: str, details: str, is_user_error: bool) -> None:
        self._refresh_view()
        self.message.show_failure(message, is_user_error, doing="training")
        self._phase_text = ""
        self.clock.stop()
        self.status.setText("Failed.")
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self.progress.setFormat("failed")
        self._say(f"failed: {message}")
        error = getattr(self.session, "error", None)
        self._retry_changes = error.retry_changes if isinstance(error, TrainingOutOfMemory) else {}
        has_checkpoint = self.last_run is not None and RunFolder(self.last_run).last_checkpoint() is not None
        if self._retry_changes or has_checkpoint:
            self.after_label.setText(
                "The run needs less memory per step."
                if self._retry_changes
                else f"Run {self.last_run.name} kept a checkpoint; fix the problem and continue it."
            )
            if self._retry_changes:
                from ift_desktop.core.training.out_of_memory import describe_retry

                self.retry_button.setText(f"Retry with {describe_retry(self._retry_changes)}")
                self.retry_button.setToolTip(
                    "Start again with half the batch and twice the accumulation: same effective batch"
                    if "batch_size" in self._retry_changes
                    else "Start again with a shorter max length: longer examples are cut"
                )
            self.retry_button.setVisible(bool(self._retry_changes))
            self.evaluate_button.setVisible(False)
            self.continue_button.setVisible(has_checkpoint)
            self.after_run.show()

    def _retry_with_less_memory(self) -> None:
        """After running out of memory: the same settings with those the error offers (half the batch and
        twice the accumulation, or a shorter max length)."""
        if not self._retry_changes or self.session is not None:
            return
        self.setup.form.set_values(self._retry_changes)
        self.start()

    def _on_ended(self) -> None:
        # ``ended`` comes with QThread.finished, a moment before the thread is fully gone: keep the
        # session until the next run starts, then delete it
        self._previous_session, self.session = self.session, None
        self._refresh_view()
        self.curves.flush()
        self.context.runs_changed.emit()
        self._refresh_resumable()
        self._update_buttons()

    def _evaluate_run(self) -> None:
        if self.last_run is not None:
            self.context.request_evaluation(str(self.last_run))
        else:
            self.context.navigate.emit("evaluate")

    # window close ------------------------------------------------------------------------------------
    def ask_stop_on_close(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Training is running",
            "A training run is in progress. Stop it now? Its last checkpoint is saved so you can continue it later.",
            QMessageBox.Yes | QMessageBox.No,
            QMessageBox.No,
        )
        return answer == QMessageBox.Yes

    def ask_keep_separate_run(self) -> str:
        """A run in its own process: ``"stop"``, ``"keep"`` (it goes on; the app attaches next time) or ``"cancel"``."""
        box = QMessageBox(self)
        box.setWindowTitle("Training is running")
        box.setText("A training run is going on in its own process. Stop it, or keep it going after the window closes?")
        box.setInformativeText("A run kept going is found again the next time the app starts.")
        stop = box.addButton("Stop the run", QMessageBox.DestructiveRole)
        keep = box.addButton("Keep it going", QMessageBox.AcceptRole)
        box.addButton(QMessageBox.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        return "stop" if box.clickedButton() is stop else "keep" if box.clickedButton() is keep else "cancel"

    def confirm_close(self) -> bool:
        """True when the window may close (no run, or the user agreed to stop it, or to keep it going)."""
        if self.session is None:
            return True
        if isinstance(self.session, AttachedRun):
            answer = self.ask_keep_separate_run()
            if answer == "cancel":
                return False
            if answer == "stop":
                self.stop()
            self.session.detach()
            return True
        if not self.ask_stop_on_close():
            return False
        self.stop()
        return True

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Stop the run (saving its checkpoint) and the estimate worker; wait at most ``timeout_ms``."""
        self.setup.shutdown(timeout_ms)
        self._preload.shutdown(min(timeout_ms, 2000))
        if isinstance(self.session, AttachedRun):
            self.session.detach()  # its own process decides; confirm_close asked the user
        elif self.session is not None:
            self.session.stop()
            self.session.wait(timeout_ms)

    def on_shown(self) -> None:
        self.setup.dataset_picker.refresh()
        self._refresh_resumable()
