"""The bridge between the Hugging Face Trainer and whoever watches a run (UI, CLI, tests).

:class:`TrainingControl` holds the user's requests (stop, pause, resume) as ``threading.Event``
objects, so a UI thread can set them while the Trainer runs in a worker thread.
:class:`EventCallback` is a ``TrainerCallback`` that turns the Trainer's logs into the event dicts
of docs/ARCHITECTURE.md, appends rows to ``metrics.jsonl``, blocks between steps while paused (still
stoppable), stops at the next step boundary when asked (saving a checkpoint there), and stops a
run whose loss became NaN or infinite. :class:`CancellableControl` adds a task's cancel to the
user's requests; :class:`TrainerTokens` reads the Trainer's token count at log time;
:class:`HeldMemoryTrim` keeps a fast CPU process near its planned memory (allocator.py).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from transformers import TrainerCallback

EventHandler = Callable[[dict], None]


class TrainingControl:
    """Stop / pause / resume requests for a running training, safe to call from any thread."""

    def __init__(self):
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run wakes up to stop

    def request_pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def request_resume(self) -> None:
        self._running.set()

    def is_paused(self) -> bool:
        return not self._running.is_set()

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self, timeout: float = 0.1) -> bool:
        """Block up to ``timeout`` s while paused; True once running (or stopping) again."""
        return self._running.wait(timeout)


class CancellableControl(TrainingControl):
    """The caller's :class:`TrainingControl`, also stopping when the task's ``is_cancelled()`` says so
    (the UI's cancel of a :class:`~ift_desktop.core.progress.TaskState`)."""

    def __init__(self, control: TrainingControl, is_cancelled: Callable[[], bool] | None = None):
        super().__init__()
        self.control = control
        self.is_cancelled = is_cancelled or (lambda: False)

    def request_stop(self) -> None:
        self.control.request_stop()

    def request_pause(self) -> None:
        self.control.request_pause()

    def request_resume(self) -> None:
        self.control.request_resume()

    def stop_requested(self) -> bool:
        return self.control.stop_requested() or bool(self.is_cancelled())

    def is_paused(self) -> bool:
        return self.control.is_paused()

    def wait_while_paused(self, timeout: float = 0.1) -> bool:
        return self.control.wait_while_paused(timeout) or self.stop_requested()


class TrainerTokens:
    """The non-padding tokens the Trainer counted so far (its ``tokens_seen``), summed by ``combine``
    (over every rank of a launched run). It holds the Trainer only from :meth:`watch` to
    :meth:`release`, so a failed run's Trainer can be freed."""

    def __init__(self, combine: Callable[[object], object] = lambda counted: counted):
        self.combine = combine
        self._trainer = None

    def watch(self, trainer) -> None:
        self._trainer = trainer

    def release(self) -> None:
        self._trainer = None

    def __call__(self) -> int:
        counted = getattr(self._trainer, "tokens_seen", None)
        return int(self.combine(counted).item()) if counted is not None else 0


class HeldMemoryTrim(TrainerCallback):
    """After each optimizer step, give the heap's free pages back when the process holds more than
    ``limit_bytes`` (allocator.trim_if_above); ``trims`` counts how often it did."""

    def __init__(self, limit_bytes: int):
        self.limit_bytes = limit_bytes
        self.trims = 0

    def on_step_end(self, args, state, control, **kwargs):
        from .allocator import trim_if_above

        self.trims += trim_if_above(self.limit_bytes)


def _number(value) -> float | None:
    """A float, or ``None`` when missing (NaN/inf stay as they are; see ``_finite``)."""
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _finite(value) -> float | None:
    """A finite float or ``None`` (JSON has no NaN)."""
    value = _number(value)
    return value if value is not None and math.isfinite(value) else None


class EventCallback(TrainerCallback):
    """Reports progress as event dicts and honours the :class:`TrainingControl` requests.

    ``tokens_seen`` is a callable returning the non-padding tokens trained on so far in this
    session (read only at log time: one device sync per log). ``on_metrics`` receives each
    metrics row (step, epoch, loss, learning_rate, grad_norm, elapsed_s, tokens_per_s, and eval_loss
    on evaluation steps) once it is complete; ``elapsed_s`` counts validations, probes and checkpoints
    but not pauses, and ``tokens_per_s`` only the training steps. Between steps it announces what
    runs (``validating`` with the batch count, ``saving``) as status events. ``on_evaluated(step, model)`` runs after each
    evaluation (probe prompts).
    """

    def __init__(
        self,
        *,
        emit: EventHandler,
        control: TrainingControl,
        tokens_seen: Callable[[], int],
        on_metrics: Callable[[dict], None],
        on_evaluated: Callable[[int, object], None] | None = None,
        elapsed_offset: float = 0.0,
        eval_batches_total: int = 0,
    ):
        self.emit = emit
        self.user = control
        self.tokens_seen = tokens_seen
        self.on_metrics = on_metrics
        self.on_evaluated = on_evaluated
        self.elapsed_offset = elapsed_offset
        self.eval_batches_total = eval_batches_total  # batches of one validation (0 = unknown)
        self.max_steps = 0
        self.nan_step: int | None = None
        self.stopped_by_user = False
        self._active = 0.0  # seconds spent in steps of this session (pauses and evaluations excluded)
        self._step_started: float | None = None
        self._step_times: deque[float] = deque(maxlen=20)
        self._last_tokens = 0
        self._last_active = 0.0
        self._pending: dict | None = None
        self._session_start_step = 0
        self._wall = 0.0  # running seconds of this session before the current span (pauses excluded)
        self._span_started: float | None = None
        self._eval_batches = 0
        self.validation_s = 0.0  # seconds spent validating in this session (the Trainer's eval_runtime)
        self._paused = 0.0  # seconds the user kept this session paused
        self.planned_seconds_left: Callable[[], float | None] | None = None  # a time limit's plan (time_limit.py)
        self.epoch_tokens = None  # time_limit.EpochTokens: the tokens of the steps to come against those so far

    # --------------------------------------------------------------------------------- timing
    @property
    def elapsed_s(self) -> float:
        """The run's training time: earlier sessions plus this one's running time (pauses left out)."""
        return self.elapsed_offset + self.running_s

    def on_train_begin(self, args, state, control, **kwargs):
        self.max_steps = int(state.max_steps or 0)
        self._session_start_step = int(state.global_step)

    def on_step_begin(self, args, state, control, **kwargs):
        # A pause takes effect here, between steps, once the last step's log, validation and checkpoint
        # are out: the bar, the charts and "Paused after step N" then agree.
        if self.user.is_paused() and not self.user.stop_requested():
            paused_at = time.monotonic()
            self._close_span()
            self.emit({"type": "status", "status": "paused", "message": f"Paused after step {state.global_step}."})
            while not self.user.wait_while_paused(0.1):
                pass
            self._paused += time.monotonic() - paused_at
            if not self.user.stop_requested():
                self.emit({"type": "status", "status": "resumed", "message": f"Resumed at step {state.global_step}."})
        now = time.monotonic()
        if self._span_started is None:
            self._span_started = now
        self._step_started = now

    def paused_s(self) -> float:
        """Seconds this session has been paused by the user so far."""
        return self._paused

    def _close_span(self) -> None:
        """Add the running time since the last pause (steps, validation, probes, checkpoints) to ``_wall``."""
        if self._span_started is not None:
            self._wall += time.monotonic() - self._span_started
            self._span_started = None

    def on_step_end(self, args, state, control, **kwargs):
        if self._step_started is not None:
            duration = time.monotonic() - self._step_started
            self._active += duration
            self._step_times.append(duration)
            self._step_started = None
        if self.user.stop_requested() and not control.should_training_stop:
            self.stopped_by_user = True
            control.should_training_stop = True
            control.should_save = True
            self.emit(
                {"type": "status", "status": "stopping", "message": f"Stopping after step {state.global_step}; saving."}
            )
        return control

    @property
    def running_s(self) -> float:
        """Seconds this session has been running since its first step, pauses left out."""
        running = self._wall
        if self._span_started is not None:
            running += time.monotonic() - self._span_started
        return running

    def eta_s(self, step: int) -> float | None:
        """Time left: the steps left at the mean pace of this session so far, validations, probes and
        checkpoints included (they recur at a fixed interval). The mean over all steps, not a recent
        window: batches of grouped lengths make single steps vary a lot; the steps' part scaled by the
        tokens the steps to come hold (``epoch_tokens``: the longest batch comes first). A run with a time
        limit takes the limit's own plan instead (``planned_seconds_left``), which also counts the
        validation at the end."""
        planned = self.planned_seconds_left() if self.planned_seconds_left is not None else None
        if planned is not None:
            return max(0.0, planned)
        done = step - self._session_start_step
        if done <= 0 or not self.max_steps:
            return None
        scale = self.epoch_tokens.scale(step) if self.epoch_tokens is not None else 1.0
        validating = min(self.validation_s, self.running_s)
        per_step = ((self.running_s - validating) * scale + validating) / done
        return max(0.0, (self.max_steps - step) * per_step)

    # ----------------------------------------------------------------------------------- logs
    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = dict(logs or {})
        step = int(state.global_step)
        if "eval_loss" in logs:
            self.validation_s += float(_finite(logs.get("eval_runtime")) or 0.0)
            eval_loss = _finite(logs["eval_loss"])
            self.emit({"type": "eval", "step": step, "eval_loss": eval_loss})
            if self._pending is not None and self._pending["step"] == step:
                self._pending["eval_loss"] = eval_loss
                self.flush()
            return control
        if "loss" not in logs:
            return control  # the end-of-training summary (train_runtime, ...)
        self.flush()
        self.max_steps = int(state.max_steps or self.max_steps)  # a time limit refits it as the run goes
        raw_loss = _number(logs.get("loss"))
        loss = _finite(raw_loss)
        tokens = int(self.tokens_seen())
        active = self._active - self._last_active
        tokens_per_s = (tokens - self._last_tokens) / active if active > 0 else None
        self._last_tokens, self._last_active = tokens, self._active
        row = {
            "step": step,
            "epoch": round(float(state.epoch or 0.0), 4),
            "loss": loss,
            "learning_rate": _finite(logs.get("learning_rate")),
            "grad_norm": _finite(logs.get("grad_norm")),
            "elapsed_s": round(self.elapsed_s, 3),
            "tokens_per_s": round(tokens_per_s, 2) if tokens_per_s is not None else None,
        }
        self.emit({"type": "log", "max_steps": self.max_steps, "eta_s": self.eta_s(step), **row})
        self._pending = row
        if raw_loss is not None and loss is None:
            self.nan_step = step
            control.should_training_stop = True
            control.should_save = False
            control.should_evaluate = False
            self.flush()
        self._announce(state, control)
        return control

    def _announce(self, state, control) -> None:
        """Say what comes between this step and the next one (validation, then a checkpoint)."""
        step = int(state.global_step)
        if control.should_evaluate:
            self._eval_batches = 0
            self.emit({"type": "status", "status": "validating", "message": f"Validating after step {step}…"})
        elif control.should_save:
            self.emit({"type": "status", "status": "saving", "message": f"Saving a checkpoint at step {step}…"})

    def on_prediction_step(self, args, state, control, **kwargs):
        self._eval_batches += 1
        total = self.eval_batches_total
        of = f" of {total}" if total else ""
        self.emit(
            {
                "type": "status",
                "status": "validating",
                "message": f"Validating after step {state.global_step}: batch {self._eval_batches}{of}",
                "done": self._eval_batches,
                "total": total,
            }
        )
        return control

    def flush(self) -> None:
        """Write the pending metrics row (once its eval_loss, if any, is known)."""
        if self._pending is not None:
            row, self._pending = self._pending, None
            self.on_metrics(row)

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        if self.on_evaluated is not None and model is not None:
            self.on_evaluated(int(state.global_step), model)
        if control.should_save:
            step = int(state.global_step)
            self.emit({"type": "status", "status": "saving", "message": f"Saving a checkpoint at step {step}…"})
        return control

    def on_save(self, args, state, control, **kwargs):
        self.flush()
        path = f"{args.output_dir}/checkpoint-{state.global_step}"
        self.emit({"type": "checkpoint", "step": int(state.global_step), "path": path})
        return control

    def on_train_end(self, args, state, control, **kwargs):
        self.flush()
        return control
