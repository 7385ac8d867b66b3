"""A run that fits a time limit: the step count and the learning-rate schedule fitted to the clock.

The default run must end in a stated time on whatever machine it runs on, yet the speed of a step is
only known once steps have run. :class:`TimeLimit` is a Trainer callback that, after every optimizer
step, fits the run's last step to the time left at the mean pace of the steps so far (validation, probes
and checkpoints included, as they recur), keeps the step count of the epochs when that is sooner, and
re-plans the learning-rate schedule on the fitted count, so the rate still decays to its end value at
the last step instead of being cut off high. The validations on the way and the one at the end (with
their probes and checkpoints) are planned for too, at their measured length, so the run ends, saved,
within the limit. The batches' lengths vary a lot and the one with the longest example comes first, so
the pace of the steps still to come is the pace so far scaled by the tokens they hold
(:class:`EpochTokens`): without it the first tenth of the default run planned and showed up to 1.5 times
the time it then took.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from transformers import TrainerCallback, get_scheduler

FIRST_FIT_STEP = 2  # fit from the second step on: the first one also pays one-off warm-up costs
MARGIN = 0.02  # share of the limit kept free for the final save and the last step's spread
FORWARD_SHARE = 1 / 3  # a validation batch (forward only) against a training batch, before one is measured


class EpochTokens(TrainerCallback):
    """The tokens of one pass over the training split (``tokens``, counted as the Trainer counts them)
    against the tokens trained on so far (``seen``): how much a step still to come holds against the
    steps so far. Add it before the callbacks that ask it (it learns the steps of an epoch as training
    begins)."""

    def __init__(self, tokens: int, seen: Callable[[], int]):
        self.tokens = int(tokens)
        self.seen = seen
        self.steps = 0  # optimizer steps of one epoch
        self._first_step = 0

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        self._first_step = int(state.global_step)
        if train_dataloader is not None:  # the Trainer's own count of an epoch's steps
            batches, accumulation = len(train_dataloader), args.gradient_accumulation_steps
            self.steps = max(batches // accumulation + int(batches % accumulation > 0), 1)

    def scale(self, step: int) -> float:
        """The tokens expected in each remaining step of the first epoch over the mean of the steps so
        far (between 0.25 and 4); 1 where it is not known: past the first epoch, in a resumed session."""
        done = step - self._first_step
        if self._first_step or done <= 0 or step >= self.steps or self.tokens <= 0:
            return 1.0
        seen = self.seen()
        if seen <= 0:
            return 1.0
        per_step_left = max(self.tokens - seen, 0) / (self.steps - step)
        return min(4.0, max(0.25, per_step_left * done / seen))


@dataclass(frozen=True)
class Pace:
    """How a run spends its time: seconds per training step, and seconds per pause (a validation with
    its probes and checkpoint) every ``every`` steps (0: none on the way) and, with ``final_pause``, once
    more at the end of the run when its last step is not one of those."""

    step_s: float
    pause_s: float = 0.0
    every: int = 0
    final_pause: bool = False

    def seconds(self, step: int, last: int) -> float:
        """Seconds from the end of ``step`` to the end of a run whose last step is ``last``."""
        pauses = (last // self.every - step // self.every) if self.every else 0
        if self.final_pause and not (self.every and last % self.every == 0):
            pauses += 1
        return (last - step) * self.step_s + pauses * self.pause_s


def fitted_last_step(step: int, spent_s: float, limit_s: float, planned_steps: int, pace: Pace) -> int:
    """The last step of a run at ``step`` after ``spent_s`` seconds that ends within ``limit_s``.

    The most steps whose time at ``pace``, pauses included, fits in the time left (less a small
    margin), never past the ``planned_steps`` of the epochs; ``step`` itself when no further step fits."""
    if step <= 0 or pace.step_s <= 0:
        return planned_steps
    budget = limit_s * (1.0 - MARGIN) - spent_s
    per_step = pace.step_s + (pace.pause_s / pace.every if pace.every else 0.0)
    last = min(planned_steps, step + int(max(0.0, budget) // per_step) + 1)
    while last > step and pace.seconds(step, last) > budget:
        last -= 1
    return max(step, last)


class TimeLimit(TrainerCallback):
    """Fits the run's step count and its learning-rate schedule to ``limit_s`` seconds of training.

    It times the steps and the pauses between them (validations, probes, checkpoints) itself; the time
    a user keeps the run paused (``paused_s``: the seconds paused so far) does not count. Before the
    first validation is measured, one is guessed at ``eval_batches`` forward passes. Add it before the
    callback that reports progress: it updates ``state.max_steps``, which the progress, the ETA and the
    Trainer's own end-of-run check read."""

    def __init__(
        self,
        limit_s: float,
        *,
        eval_batches: int = 0,
        paused_s: Callable[[], float] | None = None,
        epoch_tokens: EpochTokens | None = None,
    ):
        self.limit_s = float(limit_s)
        self.epoch_tokens = epoch_tokens
        self.eval_batches = int(eval_batches)
        self.paused_s = paused_s or (lambda: 0.0)
        self.planned_steps = 0
        self.fitted_steps: int | None = None
        self._first_step = 0
        self._warmup = 0
        self._steps_s = 0.0  # in training steps
        self._between_s = 0.0  # between them: validations, probes, checkpoints, logs
        self._validations = 0
        self.seconds_left: float | None = None  # the plan's time to the end of the run, at the last step
        self._step_began: tuple[float, float] | None = None  # (clock, paused so far)
        self._step_ended: tuple[float, float] | None = None

    def _now(self) -> tuple[float, float]:
        return time.monotonic(), self.paused_s()

    @staticmethod
    def _since(then: tuple[float, float], now: tuple[float, float]) -> float:
        return max(0.0, (now[0] - then[0]) - (now[1] - then[1]))

    def on_train_begin(self, args, state, control, **kwargs):
        self.planned_steps = int(state.max_steps)
        self._first_step = int(state.global_step)  # a resumed run gets the limit for this session
        self._warmup = args.get_warmup_steps(self.planned_steps)

    def on_step_begin(self, args, state, control, **kwargs):
        now = self._now()
        if self._step_ended is not None:
            self._between_s += self._since(self._step_ended, now)
        self._step_began = now

    def on_evaluate(self, args, state, control, **kwargs):
        self._validations += 1

    def on_step_end(self, args, state, control, lr_scheduler=None, optimizer=None, **kwargs):
        if self._step_began is None:
            return control
        self._step_ended = now = self._now()
        self._steps_s += self._since(self._step_began, now)
        done = int(state.global_step) - self._first_step
        if done < FIRST_FIT_STEP:
            return control
        step = int(state.global_step)
        pace = self._pace(args, done, self.epoch_tokens.scale(step) if self.epoch_tokens else 1.0)
        last = fitted_last_step(step, self._steps_s + self._between_s, self.limit_s, self.planned_steps, pace)
        if last != self.fitted_steps:
            self.fitted_steps = last
            state.max_steps = last
            if lr_scheduler is not None and optimizer is not None:
                self._refit_schedule(args, optimizer, lr_scheduler, last)
        self.seconds_left = pace.seconds(step, max(step, last))
        if step >= last:
            state.max_steps = self.fitted_steps = step  # the run ends here: the bar is full
            control.should_training_stop = True
            control.should_save = True
        return control

    def _pace(self, args, done: int, scale: float = 1.0) -> Pace:
        """The pace of this session so far, its steps' time scaled by the tokens of the steps to come
        (``scale``). Without validations, the time between steps is part of the steps' pace; with them
        it is charged to the validations (checkpoints come with them)."""
        validating = str(getattr(args.eval_strategy, "value", args.eval_strategy)) == "steps"
        if not validating:
            return Pace(step_s=(self._steps_s + self._between_s) / done * scale)
        step_s = self._steps_s / done
        if self._validations:
            pause_s = self._between_s / self._validations
        else:  # a step is gradient_accumulation_steps training batches
            pause_s = self.eval_batches * step_s / args.gradient_accumulation_steps * FORWARD_SHARE
        step_s *= scale
        every = int(args.eval_steps or 0)
        return Pace(step_s=step_s, pause_s=pause_s, every=every if 0 < every < 10**8 else 0, final_pause=True)

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
