"""Screenshots of the Train page at 1280x800: before, during and after a run.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_train.py [/tmp/shots]

Writes train-before.png, train-advanced(-bottom).png, train-paused.png, train-during.png,
train-after.png and train-after-log.png. The page runs in the real main window with the built-in sample dataset; the
trainer is replaced by a scripted one (a DialogSum-like loss curve with noise, validation losses and
probe answers that get shorter and closer to a summary), so the shots take seconds, not minutes.
Uses a throw-away workspace (IFT_DESKTOP_HOME) unless one is set.
"""

from __future__ import annotations

import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("IFT_DESKTOP_HOME", tempfile.mkdtemp(prefix="ift-shots-"))

ANSWERS = [
    "Sure! Here's a summary of the conversation: Person1 and Person2 are talking about many things, including",
    "#Person1# and #Person2# talk about the weekend. #Person1# suggests going to",
    "#Person1# invites #Person2# to a movie on Saturday.",
    "#Person1# invites #Person2# to see a movie on Saturday evening; #Person2# agrees.",
]


def scripted_training(config, *, data_dir, model, out_dir, on_event=None, control=None, resume=False, state=None):
    """A stand-in for ``run_training`` with plausible numbers (for pictures only)."""
    emit = on_event or (lambda event: None)
    rng = random.Random(3)
    steps, eval_every = 60, 10
    prompts = list(config.probe_prompts)
    emit({"type": "status", "status": "loading", "message": "Loading SmolLM2-135M-Instruct (built-in)"})
    emit({"type": "probe", "step": 0, "answers": [{"prompt": p, "answer": ANSWERS[0]} for p in prompts]})
    emit(
        {
            "type": "status",
            "status": "started",
            "message": "Training with lora (4,884,480 of 139,399,488 weights trainable)",
        }
    )
    for step in range(1, steps + 1):
        while control.is_paused() and not control.stop_requested():
            time.sleep(0.02)
        if control.stop_requested():
            emit({"type": "status", "status": "stopped", "message": f"Stopped at step {step - 1}"})
            return None
        time.sleep(0.03)
        loss = 1.25 * math.exp(-step / 14) + 1.05 + rng.gauss(0, 0.09)
        emit(
            {
                "type": "log",
                "step": step,
                "max_steps": steps,
                "epoch": step / 45,
                "loss": loss,
                "learning_rate": 3e-4 * min(1.0, step / 2) * 0.5 * (1 + math.cos(math.pi * step / steps)),
                "grad_norm": 0.9 + 0.6 * math.exp(-step / 20) + rng.gauss(0, 0.08),
                "tokens_per_s": 105 + rng.gauss(0, 6),
                "elapsed_s": step * 9.8,
                "eta_s": (steps - step) * 9.8,
            }
        )
        if step % eval_every == 0:
            emit({"type": "eval", "step": step, "eval_loss": 1.3 * math.exp(-step / 16) + 1.12})
            answer = ANSWERS[min(len(ANSWERS) - 1, step // 20 + 1)]
            emit({"type": "probe", "step": step, "answers": [{"prompt": p, "answer": answer} for p in prompts]})
            emit({"type": "checkpoint", "step": step, "path": f"{out_dir}/checkpoints/checkpoint-{step}"})
    emit({"type": "status", "status": "finished", "message": f"Finished at step {steps}; saved the adapter"})
    return None if control.stop_requested() else _Finished(Path(out_dir))


class _Finished:
    status = "finished"

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/shots")
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import QSettings
    from PySide6.QtTest import QTest

    from ift_desktop.core.data.prepare import PrepareConfig, prepare
    from ift_desktop.ui.app import create_app
    from ift_desktop.ui.context import AppContext
    from ift_desktop.ui.first_run import SAMPLE_NAME
    from ift_desktop.ui.main_window import MainWindow

    create_app([])
    context = AppContext(settings=QSettings(str(out / "train-settings.ini"), QSettings.IniFormat))
    if not context.workspace.list_datasets():
        prepare(PrepareConfig(source="sample"), context.workspace.datasets_dir / SAMPLE_NAME)
    window = MainWindow(context)
    window.resize(1280, 800)
    window.show()
    window.show_page("train")
    page = window.pages["train"]

    def settle(until, timeout_s=120.0):
        end = time.monotonic() + timeout_s
        while not until() and time.monotonic() < end:
            QTest.qWait(100)
        QTest.qWait(300)
        page.curves.flush()

    settle(lambda: page.trainer_ready and not page.setup.cost_pending)
    window.grab().save(str(out / "train-before.png"))

    page.setup.form.advanced_toggle.setChecked(True)
    QTest.qWait(200)
    window.grab().save(str(out / "train-advanced.png"))
    bar = page.setup.verticalScrollBar()
    bar.setValue(bar.maximum())
    QTest.qWait(200)
    window.grab().save(str(out / "train-advanced-bottom.png"))
    bar.setValue(0)
    page.setup.form.advanced_toggle.setChecked(False)

    page.setup.probes.add_from_dataset()
    page.setup.probes.add_from_dataset()
    page.train_function = scripted_training
    page.start()
    settle(lambda: len(page.curves.loss) >= 34)
    page.pause()
    settle(lambda: "Paused" in page.status.text() or "paused" in page.log.toPlainText(), 10)
    window.grab().save(str(out / "train-paused.png"))
    page.resume()
    settle(lambda: len(page.curves.loss) >= 42, 30)
    window.grab().save(str(out / "train-during.png"))
    settle(lambda: page.session is None, 60)
    window.grab().save(str(out / "train-after.png"))
    page.tabs.setCurrentIndex(1)
    QTest.qWait(200)
    window.grab().save(str(out / "train-after-log.png"))
    window.close()
    print("\n".join(sorted(str(p) for p in out.glob("train-*.png"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
