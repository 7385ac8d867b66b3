"""A run with a time limit fits its last step and its learning-rate schedule to the clock."""

from __future__ import annotations

import pytest
import torch
from tiny_models import make_tiny_dataset, make_tiny_llama
from transformers import TrainingArguments, get_scheduler
from transformers.trainer_callback import TrainerControl, TrainerState

from ift_desktop.core.models import ModelSpec
from ift_desktop.core.training import TrainConfig, run_training
from ift_desktop.core.training import time_limit as time_limit_module
from ift_desktop.core.training.time_limit import (
    EpochTokens,
    Pace,
    TimeLimit,
    fitted_last_step,
    limit_seconds,
)


def test_the_last_step_fits_the_time_left_at_the_pace_so_far():
    # 10 steps in 100 s, 600 s allowed (2 % kept free): 488 s left at 10 s a step = 48 more steps
    pace = Pace(step_s=10.0)
    assert fitted_last_step(10, 100.0, 600.0, 1000, pace) == 58
    assert fitted_last_step(10, 100.0, 600.0, 30, pace) == 30  # the epochs end first
    assert fitted_last_step(10, 700.0, 600.0, 1000, pace) == 10  # past the limit: the run ends now
    assert fitted_last_step(0, 0.0, 600.0, 40, pace) == 40  # no pace yet: the plan stands


def test_the_validations_on_the_way_and_at_the_end_are_planned_for():
    # 488 s left at 10 s a step and 60 s a validation every 20 steps and at the end:
    # ending at step 40 costs 30 steps + the validations at 20 and 40 = 420 s; at 41 it would be
    # 31 steps + 20, 40 and the end's = 490 s, past the 488 s left
    pace = Pace(step_s=10.0, pause_s=60.0, every=20, final_pause=True)
    assert pace.seconds(10, 40) == 420.0 and pace.seconds(10, 41) == 490.0
    assert fitted_last_step(10, 100.0, 600.0, 1000, pace) == 40
    only_at_the_end = Pace(step_s=10.0, pause_s=60.0, final_pause=True)
    assert fitted_last_step(10, 100.0, 600.0, 1000, only_at_the_end) == 52  # 42 steps + 60 s = 480 s


def test_limit_seconds():
    assert limit_seconds(10) == 600.0
    assert limit_seconds(None) is None and limit_seconds(0) is None


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_schedule_is_refitted_and_the_run_stops_at_the_fitted_step(tmp_path, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(time_limit_module.time, "monotonic", clock)
    args = TrainingArguments(
        output_dir=str(tmp_path), learning_rate=1.0, lr_scheduler_type="linear", warmup_steps=0, report_to="none"
    )
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=0, num_training_steps=100)
    state, control = TrainerState(), TrainerControl()
    state.max_steps = 100
    limit = TimeLimit(limit_s=102.1)  # 2 % kept free: 100 s of steps
    limit.on_train_begin(args, state, control)
    rates, left = [], []
    for step in range(1, 101):
        limit.on_step_begin(args, state, control)
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
        clock.now += 10.0  # 10 s a step: 10 steps fit
        state.global_step = step
        limit.on_step_end(args, state, control, lr_scheduler=scheduler, optimizer=optimizer)
        left.append(limit.seconds_left)
        if control.should_training_stop:
            break
    assert state.global_step == 10 and state.max_steps == 10 and control.should_save
    assert left[4] == pytest.approx(50.0) and left[-1] == 0.0  # the plan's time left: what the ETA shows
    # the rate reaches zero at step 10 (not at the epochs' step 100): 1 - step / 10 from the refit on
    assert rates[-1] == pytest.approx(0.0) and rates[-2] == pytest.approx(0.1)
    assert rates[2] == pytest.approx(0.7)


def test_a_run_with_a_time_limit_ends_within_it_and_a_step_limit_ignores_it(tmp_path, monkeypatch):
    model = ModelSpec.parse(str(make_tiny_llama(tmp_path / "llama")))
    data = make_tiny_dataset(tmp_path / "data", n=40, val=2, test=2)
    clock = _Clock()
    real = time_limit_module.time.monotonic

    def slow_clock():  # every reading of the limit's clock is 1 s later: a 5 s limit ends after a few steps
        clock.now += 1.0
        return clock.now

    monkeypatch.setattr(time_limit_module.time, "monotonic", slow_clock)
    common = {"batch_size": 2, "epochs": 3, "eval_steps": 0, "save_steps": 0, "time_limit_minutes": 5 / 60}
    limited = run_training(TrainConfig(**common), data_dir=data, model=model, out_dir=tmp_path / "limited")
    assert limited.status == "finished" and 2 <= limited.global_step < 10
    assert limited.max_steps == limited.global_step  # the progress shows the fitted step count
    assert limited.artifact_dir.is_dir()
    monkeypatch.setattr(time_limit_module.time, "monotonic", real)
    stepped = run_training(
        TrainConfig(**{**common, "max_steps": 12}), data_dir=data, model=model, out_dir=tmp_path / "stepped"
    )
    assert stepped.global_step == 12


def test_time_the_user_keeps_the_run_paused_does_not_count(tmp_path, monkeypatch):
    clock, paused = _Clock(), {"s": 0.0}
    monkeypatch.setattr(time_limit_module.time, "monotonic", clock)
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none")
    state, control = TrainerState(), TrainerControl()
    state.max_steps = 100
    limit = TimeLimit(limit_s=102.1, paused_s=lambda: paused["s"])  # 100 s of 10 s steps
    limit.on_train_begin(args, state, control)
    for step in range(1, 101):
        limit.on_step_begin(args, state, control)
        if step == 3:  # paused for 500 s before this step ran
            clock.now += 500.0
            paused["s"] += 500.0
        clock.now += 10.0
        state.global_step = step
        limit.on_step_end(args, state, control)
        if control.should_training_stop:
            break
    assert state.global_step == 10


def _epoch_tokens(tokens: int, seen, *, batches: int, accumulation: int, first_step: int = 0) -> EpochTokens:
    counted = EpochTokens(tokens, seen)
    args = TrainingArguments(output_dir="unused", gradient_accumulation_steps=accumulation, report_to="none")
    state = TrainerState()
    state.global_step = first_step
    counted.on_train_begin(args, state, TrainerControl(), train_dataloader=range(batches))
    return counted


def test_epoch_tokens_scale_the_steps_to_come_by_the_tokens_they_hold():
    seen = {"tokens": 300}
    counted = _epoch_tokens(1000, lambda: seen["tokens"], batches=38, accumulation=4)  # 10 steps (the last of 2)
    assert counted.steps == 10
    # 2 steps held 300 tokens (150 each); the 8 to come hold 700 (87.5 each)
    assert counted.scale(2) == pytest.approx(87.5 / 150)
    assert counted.scale(10) == 1.0  # past the first epoch: its pace is the epoch's
    seen["tokens"] = 0
    assert counted.scale(2) == 1.0  # nothing counted (yet)
    resumed = _epoch_tokens(1000, lambda: 300, batches=38, accumulation=4, first_step=4)
    assert resumed.scale(6) == 1.0  # a resumed session does not know the earlier sessions' tokens


def test_the_plan_follows_the_tokens_of_the_steps_to_come(tmp_path, monkeypatch):
    # the longest batches come first: 2 steps of 400 tokens, then 18 of 100; a step takes 1 s per 100
    # tokens, so the 20 steps take 26 s. From the second step on, the plan's time left is right
    # (the pace per step alone would say 18 x 4 s = 72 s instead of 18 s)
    tokens = [400, 400] + [100] * 18
    clock, seen = _Clock(), {"tokens": 0}
    monkeypatch.setattr(time_limit_module.time, "monotonic", clock)
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none")
    state, control = TrainerState(), TrainerControl()
    state.max_steps = 20
    counted = _epoch_tokens(sum(tokens), lambda: seen["tokens"], batches=20, accumulation=1)
    limit = TimeLimit(limit_s=1000.0, epoch_tokens=counted)
    limit.on_train_begin(args, state, control)
    left = {}
    for step, held in enumerate(tokens, start=1):
        limit.on_step_begin(args, state, control)
        clock.now += held / 100
        seen["tokens"] += held
        state.global_step = step
        limit.on_step_end(args, state, control)
        left[step] = limit.seconds_left
    assert left[2] == pytest.approx(18.0) and left[10] == pytest.approx(10.0)
    assert state.max_steps == 20 and state.global_step == 20


def test_before_a_validation_is_measured_it_is_guessed_per_training_batch(tmp_path):
    # 16 validation batches of one example, a step of 4 accumulated batches of one: a validation is
    # guessed at 16 forward passes = 16 / 4 steps x 1/3 (forward only)
    args = TrainingArguments(
        output_dir=str(tmp_path), eval_strategy="steps", eval_steps=20, gradient_accumulation_steps=4, report_to="none"
    )
    limit = TimeLimit(limit_s=600.0, eval_batches=16)
    limit._steps_s = 30.0  # 10 steps of 3 s
    pace = limit._pace(args, 10)
    assert pace.step_s == pytest.approx(3.0) and pace.pause_s == pytest.approx(16 / 4 * 3.0 / 3)
