"""The Train page, driven by pytest-qt.

Most tests replace ``run_training`` with :class:`ScriptedTrainer`, which emits the events of
docs/ARCHITECTURE.md on a script (in the worker thread, as the real trainer does) and honours the
page's TrainingControl; one fast test trains the tiny Llama for real, and one slow test trains the
built-in model with LoRA.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from tiny_models import make_tiny_dataset, make_tiny_llama

from ift_desktop.core.workspace import Workspace
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.train import TrainPage
from ift_desktop.ui.pages.train.hints import CurveReader

PROMPTS = ["Summarize:\nAnn: Lunch at 1?\nBob: Yes.\nSummary:", "Translate to German: good morning"]


@dataclass
class ScriptedResult:
    status: str
    run_dir: Path
    global_step: int


class ScriptedTrainer:
    """Stands in for ``run_training``: same signature, scripted events, real pause/stop handling."""

    def __init__(self, steps=30, delay_s=0.0, eval_every=10, losses=None, eval_losses=None, start_step=0):
        self.steps = steps
        self.delay_s = delay_s
        self.eval_every = eval_every
        self.losses = losses or (lambda step: 2.5 * math.exp(-step / 12) + 0.4)
        self.eval_losses = eval_losses
        self.start_step = start_step
        self.calls: list[dict] = []

    def __call__(self, config, *, data_dir, model, out_dir, on_event=None, control=None, resume=False, state=None):
        self.calls.append(dict(config=config, data_dir=data_dir, model=model, out_dir=out_dir, resume=resume))
        emit = on_event or (lambda event: None)
        prompts = list(getattr(config, "probe_prompts", None) or [])
        emit({"type": "status", "status": "loading", "message": "Loading the model"})
        emit({"type": "status", "status": "started", "message": f"Training {self.steps} steps"})
        start = time.monotonic()
        for step in range(self.start_step + 1, self.steps + 1):
            if control is not None and control.is_paused():
                emit({"type": "status", "status": "paused", "message": f"Paused at step {step - 1}"})
                while control.is_paused() and not control.stop_requested():
                    time.sleep(0.005)
                if not control.stop_requested():
                    emit({"type": "status", "status": "resumed", "message": "Resumed"})
            if control is not None and control.stop_requested():
                emit({"type": "status", "status": "stopping", "message": "Saving a checkpoint"})
                emit({"type": "checkpoint", "step": step - 1, "path": str(Path(out_dir) / "checkpoints")})
                emit({"type": "status", "status": "stopped", "message": f"Stopped at step {step - 1}"})
                return ScriptedResult("stopped", Path(out_dir), step - 1)
            if self.delay_s:
                time.sleep(self.delay_s)
            elapsed = time.monotonic() - start
            emit(
                {
                    "type": "log",
                    "step": step,
                    "max_steps": self.steps,
                    "epoch": step / 10,
                    "loss": self.losses(step),
                    "learning_rate": 3e-4 * (1 - step / self.steps),
                    "grad_norm": 1.0 + 0.1 * (step % 3),
                    "tokens_per_s": 100.0 + step,
                    "elapsed_s": elapsed,
                    "eta_s": (self.steps - step) * max(self.delay_s, 0.01),
                }
            )
            if step % self.eval_every == 0:
                eval_loss = self.eval_losses(step) if self.eval_losses else self.losses(step) + 0.1
                emit({"type": "eval", "step": step, "eval_loss": eval_loss})
                answers = [{"prompt": p, "answer": f"answer at step {step}"} for p in prompts]
                if answers:
                    emit({"type": "probe", "step": step, "answers": answers})
        emit({"type": "status", "status": "finished", "message": "Done"})
        return ScriptedResult("finished", Path(out_dir), self.steps)


@pytest.fixture
def context(tmp_path):
    workspace = Workspace(tmp_path / "workspace")
    make_tiny_dataset(workspace.datasets_dir / "tiny", n=16, val=4, test=4)
    return AppContext(workspace=workspace, settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))


@pytest.fixture
def page(qtbot, context):
    widget = TrainPage(context)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    # the page's own preparation done (code imported, the dataset's max length counted, the costs estimated): its
    # workers' tokenizer build and counting do not overlap what a test measures
    ready = lambda: widget.trainer_ready and widget.setup.dataset_max_length is not None  # noqa: E731
    qtbot.waitUntil(lambda: ready() and not widget.setup.cost_pending, timeout=90000)
    yield widget
    widget.shutdown(3000)


def _set(page, name, text):
    editor = page.setup.form.editors[name]
    widget = editor.widget
    if hasattr(widget, "setValue"):
        widget.setValue(int(text))
    else:
        widget.setText(str(text))


def _run_until_end(qtbot, page, timeout=10000):
    qtbot.waitUntil(lambda: page.session is None, timeout=timeout)


def test_a_scripted_run_draws_the_curves_and_probe_answers(qtbot, page):
    trainer = ScriptedTrainer(steps=30, eval_every=10)
    page.train_function = trainer
    page.setup.probes.set_prompts(PROMPTS)
    _set(page, "max_steps", 30)
    page.start_button.click()
    assert page.session is not None and not page.start_button.isEnabled()
    _run_until_end(qtbot, page)

    curves = page.curves
    assert curves.loss.x == [float(s) for s in range(1, 31)]
    assert curves.eval_loss.x == [10.0, 20.0, 30.0]
    assert len(curves.learning_rate) == len(curves.grad_norm) == len(curves.tokens_per_s) == 30
    smoothed = curves.smoothed_loss()
    assert smoothed[-1] < smoothed[0]
    x, _ = curves._raw_item.getData()
    assert len(x) == 30  # drawn, not only stored
    assert page.probe_history.history(PROMPTS[0]) == [
        (10, "answer at step 10"),
        (20, "answer at step 20"),
        (30, "answer at step 30"),
    ]
    assert page.progress.value() == 30 and "30 / 30" in page.progress.format()
    assert page.after_run.isVisible() and page.evaluate_button.isVisible()
    call = trainer.calls[0]
    assert call["resume"] is False and call["out_dir"].parent == page.context.workspace.runs_dir
    assert list(call["config"].probe_prompts) == PROMPTS
    with qtbot.waitSignal(page.context.navigate) as navigation:
        page.evaluate_button.click()
    assert navigation.args == ["evaluate"]


def test_stop_ends_the_worker_within_a_second_and_the_ui_never_blocks(qtbot, page):
    page.train_function = ScriptedTrainer(steps=100000, delay_s=0.02, eval_every=50)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    page.start_button.click()
    qtbot.waitUntil(lambda: len(page.curves.loss) > 100, timeout=5000)
    qtbot.wait(500)
    session = page.session
    stopped_at = time.monotonic()
    page.stop_button.click()
    assert not page.stop_button.isEnabled()
    _run_until_end(qtbot, page, timeout=1000)
    elapsed = time.monotonic() - stopped_at
    timer.stop()
    assert elapsed < 1.0
    assert not session.is_running() or session.wait(200)
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(gaps) > 50
    # the bound for the window (max < 200 ms); 100 ms failed twice in clean-clone CI (110, 116 ms)
    assert max(gaps) < 0.2, f"the event loop was blocked for {max(gaps) * 1000:.0f} ms"
    assert page.curves.redraws < len(page.curves.loss) / 2  # redrawn by the timer, not per event
    assert "Stopped" in page.after_label.text() and page.continue_button.isVisible()


def test_pause_and_resume_toggle(qtbot, page):
    page.train_function = ScriptedTrainer(steps=100000, delay_s=0.02, eval_every=1000)
    page.start_button.click()
    qtbot.waitUntil(lambda: len(page.curves.loss) > 5, timeout=5000)
    page.pause_button.click()
    assert not page.pause_button.isEnabled() and page.resume_button.isEnabled()
    qtbot.waitUntil(lambda: "Paused" in page.status.text(), timeout=2000)
    held = len(page.curves.loss)
    qtbot.wait(250)
    assert len(page.curves.loss) == held
    page.resume_button.click()
    assert page.pause_button.isEnabled() and not page.resume_button.isEnabled()
    qtbot.waitUntil(lambda: len(page.curves.loss) > held + 5, timeout=2000)
    page.pause_button.click()
    page.stop_button.click()  # stopping a paused run works too
    _run_until_end(qtbot, page, timeout=2000)


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("learning_rate", "-0.001", "learning rate"),
        ("batch_size", 0, "batch"),
        ("learning_rate", "fast", "not a number"),
    ],
)
def test_bad_hyper_parameters_are_shown_inline_and_nothing_starts(qtbot, page, name, value, words):
    trainer = ScriptedTrainer()
    page.train_function = trainer
    _set(page, name, value)
    page.start_button.click()
    assert page.session is None and trainer.calls == []
    assert page.message.kind == "error"
    assert words in page.message.text().lower()
    assert not any(page.context.workspace.runs_dir.iterdir())


def test_missing_dataset_and_model_folder_are_shown_inline(qtbot, tmp_path):
    context = AppContext(
        workspace=Workspace(tmp_path / "empty"), settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    )
    page = TrainPage(context)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.trainer_ready and not page.setup.cost_pending, timeout=90000)
    assert page.setup.dataset_picker.go_to_data.isVisible()
    with qtbot.waitSignal(context.navigate) as navigation:
        page.setup.dataset_picker.go_to_data.click()
    assert navigation.args == ["data"]
    page.start_button.click()
    assert page.session is None and "dataset" in page.message.text().lower()
    make_tiny_dataset(context.workspace.datasets_dir / "later")
    context.datasets_changed.emit()
    assert page.setup.dataset_picker.current_path() is not None
    page.setup.model_picker.select(str(tmp_path / "no-such-model"))
    page.start_button.click()
    assert page.session is None and "no-such-model" in page.message.text()
    page.shutdown(2000)


def test_closing_during_a_run_asks_then_stops_cleanly(qtbot, page, monkeypatch):
    page.train_function = ScriptedTrainer(steps=100000, delay_s=0.02)
    page.start_button.click()
    qtbot.waitUntil(lambda: len(page.curves.loss) > 3, timeout=5000)
    monkeypatch.setattr(page, "ask_stop_on_close", lambda: False)
    assert page.confirm_close() is False and not page.session.stop_requested
    monkeypatch.setattr(page, "ask_stop_on_close", lambda: True)
    assert page.confirm_close() is True
    session = page.session
    page.shutdown(2000)
    assert not session.is_running()


def test_hints_for_a_broken_loss_and_for_overfitting(qtbot, page):
    page.train_function = ScriptedTrainer(
        steps=12,
        eval_every=2,
        losses=lambda step: float("nan") if step == 7 else 1.0,
        eval_losses=lambda step: 1 + step / 10,
    )
    page.start_button.click()
    _run_until_end(qtbot, page)
    assert page.hint.kind in ("error", "warning")
    log = page.log.toPlainText()
    assert "Something is wrong" in log and "step 7" in log
    assert "Likely overfitting" in log


def test_out_of_memory_offers_a_retry_with_the_same_effective_batch(qtbot, page):
    from ift_desktop.core.training import out_of_memory_error

    def out_of_memory(config, **kwargs):
        raise out_of_memory_error(config)

    page.train_function = out_of_memory
    _set(page, "batch_size", 8)
    page.start_button.click()
    _run_until_end(qtbot, page)
    assert page.message.kind == "error" and "out of memory" in page.message.text()
    assert page.retry_button.isVisible() and "batch 4 × accumulation 2" in page.retry_button.text()
    trainer = ScriptedTrainer(steps=3)
    page.train_function = trainer
    page.retry_button.click()
    _run_until_end(qtbot, page)
    config = trainer.calls[0]["config"]
    assert (config.batch_size, config.grad_accum) == (4, 2)
    assert not page.retry_button.isVisible() and page.evaluate_button.isVisible()


def test_only_the_out_of_memory_type_offers_a_retry_not_its_wording(qtbot, page):
    from ift_desktop.core.errors import TrainingError

    def worded_like_it(config, **kwargs):
        raise TrainingError("The data ran out of memory-friendly examples (not an out of memory error).")

    page.train_function = worded_like_it
    _set(page, "batch_size", 8)
    page.start_button.click()
    _run_until_end(qtbot, page)
    assert page.message.kind == "error" and not page.retry_button.isVisible()


def test_the_memory_line_shows_the_peak_of_the_memory_use_a_run_would_take(qtbot, page, monkeypatch):
    """Kept freed memory (fast) makes a process hold more than its estimate: the line shows that peak, lean's is
    the estimate itself, and the tooltip says which use and why."""
    line = page.setup.method.costs["lora"]
    settled = lambda: page.setup.dataset_max_length is not None and not page.setup.cost_pending  # noqa: E731
    qtbot.waitUntil(settled, timeout=60000)  # the estimate for the dataset's own max length

    def mib(text: str, unit: str) -> float:
        return float(text) * (1024 if unit == "GiB" else 1)

    def shown(mode: str) -> tuple[float, str]:
        page.setup.form.editors["memory"].set(mode)
        qtbot.waitUntil(lambda: settled() and "memory ≈" in line.text(), timeout=30000)
        memory = re.search(r"memory ≈ ([\d.]+) (GiB|MiB)", line.text())
        return mib(*memory.groups()), line.toolTip()

    page.setup.where.mode.setCurrentIndex(1)  # a separate process: the line is the training process's alone
    lean, lean_tip = shown("lean")
    fast, fast_tip = shown("fast")
    estimate = re.search(r": ([\d.]+) GiB in all", lean_tip)
    assert estimate and abs(lean - float(estimate[1]) * 1024) < 1  # lean peaks at the estimate
    assert "Memory use lean" in lean_tip and "Memory use fast" in fast_tip and "keeps freed memory" in fast_tip
    assert fast > lean and "this window" not in lean_tip

    # in this app (the default) the run adds to what the window's process already holds: the line counts it
    from ift_desktop.core.models.memory import CPU_RUNTIME_BYTES
    from ift_desktop.core.training import allocator

    monkeypatch.setattr(allocator, "resident_bytes", lambda: CPU_RUNTIME_BYTES + 2**29)  # the window: 0.5 GiB
    page.setup.where.mode.setCurrentIndex(0)
    qtbot.waitUntil(lambda: settled() and "this window" in line.toolTip(), timeout=30000)
    in_app, in_app_tip = shown("lean")
    window = re.search(r"holds ([\d.]+) (GiB|MiB) more", in_app_tip)
    assert window and mib(*window.groups()) == 512
    assert abs(in_app - lean - 512) <= 0.1 * 1024  # the lines are rounded to 0.1 GiB


def test_a_new_setting_with_metadata_gets_its_form_row(qtbot):
    from dataclasses import dataclass

    from ift_desktop.core.training.config import TrainConfig
    from ift_desktop.core.training.setting_fields import setting
    from ift_desktop.ui.pages.train.hyperparams import HyperParameterForm

    @dataclass
    class WithNoise(TrainConfig):
        noise_embeddings: bool = setting("Add noise to the embeddings while training.", False, label="Noisy embeddings")

    form = HyperParameterForm(WithNoise)
    qtbot.addWidget(form)
    assert (
        form.labels["noise_embeddings"] == "Noisy embeddings" and list(form.editors)[-1] == "noise_embeddings"
    )  # last of the Advanced fold
    assert "Add noise" in form.editors["noise_embeddings"].widget.toolTip()
    form.editors["noise_embeddings"].widget.setChecked(True)
    assert WithNoise(**form.values()).noise_embeddings is True
    assert "method" not in form.editors and "probe_prompts" not in form.editors  # their own editors on the page


def test_curve_reader_rules():
    reader = CurveReader(rising=3)
    assert reader.on_log(1, 2.0) is None
    assert reader.on_log(2, 0.0).kind == "broken"
    assert reader.on_log(3, float("nan")) is None  # said once
    for step, loss in [(10, 1.0), (20, 0.9), (30, 0.95), (40, 0.97)]:
        assert reader.on_eval(step, loss) is None  # two rises only
    hint = reader.on_eval(50, 0.99)
    assert hint.kind == "overfitting" and "step 20" in hint.text


def test_a_stopped_run_can_be_continued_from_the_page(qtbot, page, context):
    first = ScriptedTrainer(steps=100000, delay_s=0.02)
    page.train_function = first
    page.setup.probes.set_prompts(PROMPTS[:1])
    page.start_button.click()
    qtbot.waitUntil(lambda: len(page.curves.loss) > 3, timeout=5000)
    run_dir = page.session.out_dir
    page.stop_button.click()
    _run_until_end(qtbot, page)
    # what the real trainer leaves behind when stopped: run.json, metrics, a checkpoint
    record = {
        "status": "stopped",
        "config": first.calls[0]["config"].to_dict(),
        "model": {"source": "builtin", "name_or_path": "builtin"},
        "data": {"dir": str(context.workspace.datasets_dir / "tiny")},
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.json").write_text(json.dumps(record), encoding="utf-8")
    (run_dir / "checkpoints" / "checkpoint-4").mkdir(parents=True)
    (run_dir / "checkpoints" / "checkpoint-4" / "trainer_state.json").write_text("{}", encoding="utf-8")
    (run_dir / "probes.jsonl").write_text(
        json.dumps({"step": 0, "answers": [{"prompt": PROMPTS[0], "answer": "before"}]}) + "\n", encoding="utf-8"
    )
    (run_dir / "metrics.jsonl").write_text(
        "\n".join(
            json.dumps({"step": s, "loss": 2.0 - s / 10} | ({"eval_loss": 1.9} if s == 4 else {})) for s in range(1, 5)
        )
        + "\n",
        encoding="utf-8",
    )
    context.runs_changed.emit()
    assert page.continue_button.isVisible() and not page.resume_row.isVisible()  # offered once, above
    page.shutdown(2000)
    # after a restart the page lists the stopped run
    later = TrainPage(context)
    qtbot.addWidget(later)
    later.show()
    qtbot.waitUntil(lambda: later.trainer_ready and not later.setup.cost_pending, timeout=90000)
    assert later.resume_row.isVisible() and later.resume_combo.count() == 1
    resumed = ScriptedTrainer(steps=8, start_step=4)
    later.train_function = resumed
    later.resume_run_button.click()
    _run_until_end(qtbot, later)
    assert resumed.calls[0]["resume"] is True and resumed.calls[0]["out_dir"] == run_dir
    assert later.curves.loss.x == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]  # the curve continues
    assert later.probe_history.history(PROMPTS[0])[0] == (0, "before")
    assert later.curves.eval_loss.x[0] == 4.0 and later.probe_history._eval_loss[4] == 1.9
    later.shutdown(2000)


def test_a_real_run_on_the_tiny_llama_saves_an_adapter(qtbot, page, tmp_path):
    model_dir = make_tiny_llama(tmp_path / "tiny-llama")
    page.setup.model_picker.select(str(model_dir))
    _set(page, "max_steps", 4)
    _set(page, "batch_size", 2)
    page.setup.probes.set_prompts(PROMPTS[:1])
    page.start_button.click()
    assert page.message.kind == "", page.message.text()
    _run_until_end(qtbot, page, timeout=120000)
    assert page.message.kind == "", page.message.text()
    run_dir = page.last_run
    assert (run_dir / "adapter" / "adapter_config.json").is_file()
    assert len(page.curves.loss) >= 1
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "finished"


@pytest.mark.slow
def test_a_real_lora_run_on_the_builtin_model_from_the_page(qtbot, page):
    page.setup.model_picker.select("builtin")
    page.setup.method.set_method("lora")
    _set(page, "max_steps", 3)
    _set(page, "batch_size", 2)
    _set(page, "max_length", 128)
    page.start_button.click()
    assert page.message.kind == "", page.message.text()
    _run_until_end(qtbot, page, timeout=900000)
    assert page.message.kind == "", page.message.text()
    assert (page.last_run / "adapter" / "adapter_config.json").is_file()
    assert len(page.curves.loss) >= 1


class PhasedTrainer(ScriptedTrainer):
    """A scripted run that says what it does between steps, as run_training does."""

    def __init__(self, gate):
        super().__init__(steps=4)
        self.gate = gate

    def __call__(self, config, *, data_dir, model, out_dir, on_event=None, control=None, resume=False, state=None):
        emit = on_event
        emit({"type": "status", "status": "loading", "message": "Loading the model"})
        emit({"type": "status", "status": "tokenizing", "message": "Tokenizing the training and validation examples"})
        self.gate.wait(5)
        self.gate.clear()
        emit(
            {
                "type": "status",
                "status": "started",
                "message": "Training",
                "precision": "fp32",
                "precision_reason": "fp32 (this CPU has no native bf16 arithmetic)",
                "memory": "fast",
                "memory_reason": "about 4.6 GB needed, 20.0 GB free: the process keeps freed memory for speed",
            }
        )
        emit(
            {
                "type": "log",
                "step": 1,
                "max_steps": 4,
                "loss": 2.0,
                "tokens_per_s": 1234.0,
                "elapsed_s": 10.0,
                "eta_s": 30.0,
            }
        )
        emit(
            {
                "type": "status",
                "status": "validating",
                "message": "Validating after step 1: batch 2 of 5",
                "done": 2,
                "total": 5,
            }
        )
        self.gate.wait(5)
        emit({"type": "status", "status": "finished", "message": "Done"})
        return ScriptedResult("finished", Path(out_dir), 4)


def test_every_phase_shows_what_the_run_does_with_precision_speed_and_time_left(qtbot, page):
    import threading

    gate = threading.Event()
    page.train_function = PhasedTrainer(gate)
    page.start_button.click()
    qtbot.waitUntil(lambda: "Tokenizing" in page.status.text(), timeout=3000)
    assert page.progress.maximum() == 0  # busy while loading and tokenizing
    gate.set()
    qtbot.waitUntil(lambda: "Validating after step 1: batch 2 of 5" in page.status.text(), timeout=3000)
    qtbot.waitUntil(lambda: "1,234 tokens/s" in page.speed.text(), timeout=3000)
    assert page.speed.text().startswith("fp32") and "no native bf16" in page.speed.toolTip()
    assert "left" in page.speed.text() and page.progress.value() == 1
    qtbot.waitUntil(lambda: "memory: about 4.6 GB needed" in page.log.toPlainText(), timeout=3000)
    first = page.clock.elapsed_s()
    qtbot.wait(300)
    assert page.clock.elapsed_s() > first >= 10.0  # the clock moves between logs
    gate.set()
    _run_until_end(qtbot, page, timeout=3000)
    assert "Finished" in page.status.text() and "left" not in page.speed.text()


def test_counting_the_datasets_max_length_hands_its_tokenizer_back_for_the_run(llama, data):
    from ift_desktop.core.models import ModelSpec, spare_tokenizers
    from ift_desktop.ui.pages.train.setup_panel import resolve_dataset_max_length

    resolve_dataset_max_length(ModelSpec.parse(str(llama)), data)
    assert spare_tokenizers.take(spare_tokenizers.files_key(llama, False)) is not None  # the run takes it
