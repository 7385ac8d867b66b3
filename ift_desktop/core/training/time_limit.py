"""A run that fits a time limit: the step count and the learning-rate schedule fitted to the clock.

The default run must end in a stated time on whatever machine it runs on, yet the speed of a step is
only known once steps have run. :class:`TimeLimit` is a Trainer callback that, after every optimizer
step, fits the run's last step to the time left at the mean pace of the steps so far (validation,
probes and checkpoints included, as they recur), keeps the step count of the epochs when that is
sooner, and re-plans the learning-rate schedule on the fitted count, so the rate still decays to its
end value at the last step instead of being cut off high. Length-grouped batches put the longest
batch first, so the first estimates are pessimistic and the plan grows as shorter batches come. A
last guard stops the run when the next step would end past the limit.
"""

from __future__ import annotations

import math
import time

from transformers import TrainerCallback, get_scheduler

FIRST_FIT_STEP = 2  # fit from the second step on: the first one also pays one-off warm-up costs
MARGIN = 0.02  # share of the limit kept free for the final save and the last step's spread


def fitted_last_step(step: int, elapsed_s: float, limit_s: float, planned_steps: int) -> int:
    """The last step of a run at ``step`` after ``elapsed_s`` seconds that ends within ``limit_s``.

    Steps left = the time left (less a small margin) at the mean pace so far, never past the
    ``planned_steps`` of the epochs; ``step`` itself when no further step fits."""
    if step <= 0 or elapsed_s <= 0:
        return planned_steps
    pace = elapsed_s / step
    left = max(0.0, limit_s * (1.0 - MARGIN) - elapsed_s)
    return max(step, min(planned_steps, step + int(left // pace)))


class TimeLimit(TrainerCallback):
    """Fits the run's step count and its learning-rate schedule to ``limit_s`` seconds of training.

    Add it before the callback that reports progress: it updates ``state.max_steps``, which the
    progress, the ETA and the Trainer's own end-of-run check read."""

    def __init__(self, limit_s: float):
        self.limit_s = float(limit_s)
        self.planned_steps = 0
        self.fitted_steps: int | None = None
        self._started: float | None = None
        self._first_step = 0
        self._warmup = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.planned_steps = int(state.max_steps)
        self._first_step = int(state.global_step)  # a resumed run gets the limit for this session
        self._warmup = args.get_warmup_steps(self.planned_steps)
        self._started = time.monotonic()

    def on_step_end(self, args, state, control, lr_scheduler=None, optimizer=None, **kwargs):
        if self._started is None:
            return control
        done = int(state.global_step) - self._first_step
        elapsed = time.monotonic() - self._started
        if done < FIRST_FIT_STEP:
            return control
        last = self._first_step + fitted_last_step(done, elapsed, self.limit_s, self.planned_steps - self._first_step)
        if last != self.fitted_steps:
            self.fitted_steps = last
            state.max_steps = last
            if lr_scheduler is not None and optimizer is not None:
                self._refit_schedule(args, optimizer, lr_scheduler, last)
        if state.global_step >= last or elapsed + elapsed / done > self.limit_s:
            state.max_steps = self.fitted_steps = int(state.global_step)  # the run ends here: the bar is full
            control.should_training_stop = True
            control.should_save = True
        return control

    def _refit_schedule(self, args, optimizer, lr_scheduler, last_step: int) -> None:
        """Point the running LambdaLR at a schedule of ``last_step`` steps (same kind, same warm-up)."""
        if not hasattr(lr_scheduler, "lr_lambdas"):
            return
        rates = [group["lr"] for group in optimizer.param_groups]
        replanned = get_scheduler(
            args.lr_scheduler_type,
            optimizer,
            num_warmup_steps=self._warmup,
            num_training_steps=max(last_step, self._warmup + 1),
            scheduler_specific_kwargs=args.lr_scheduler_kwargs,
        )
        lr_scheduler.lr_lambdas = replanned.lr_lambdas
        for group, rate in zip(optimizer.param_groups, rates):  # building a scheduler sets the rate: undo it
            group["lr"] = rate


def limit_seconds(minutes: float | None) -> float | None:
    """Seconds of a time limit in minutes; ``None`` for none (empty or 0)."""
    if minutes is None or minutes <= 0 or not math.isfinite(minutes):
        return None
    return 60.0 * float(minutes)
