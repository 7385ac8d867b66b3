"""The README's screenshots, and every page at 1024x700 and 1920x1080, from the real app and the built-in model.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_readme.py [--images docs/images] \
        [--pages /tmp/shots] [--steps 10] [--examples 10]

One main window on a throw-away workspace (IFT_DESKTOP_HOME, unless set), driven as a user would:
1. the Data wizard on the built-in dialogue sample up to Statistics (the built-in model's tokenizer), then saved
   → ``wizard-statistics.png``;
2. a real LoRA run of the built-in model on that dataset, shot while it trains → ``training-live.png``;
3. base and fine-tuned model evaluated on the test split, the Examples tab with the matched words highlighted
   → ``evaluate-examples.png``;
4. every page (and the wizard's statistics step, the Examples tab) at 1024x700 and 1920x1080 → ``--pages``.
It prints how long the run and the evaluation took. Real training and generation take minutes on a CPU:
run it under the heavy-work lock.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("IFT_DESKTOP_HOME", tempfile.mkdtemp(prefix="ift-readme-shots-"))

REPO = Path(__file__).resolve().parent.parent
SIZES = ((1024, 700), (1920, 1080))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default=str(REPO / "docs" / "images"), help="where the README's pictures go")
    parser.add_argument("--pages", default="/tmp/shots", help="where the every-page screenshots go")
    parser.add_argument("--steps", type=int, default=10, help="training steps of the run that is shown")
    parser.add_argument("--examples", type=int, default=10, help="test examples evaluated")
    parser.add_argument(
        "--no-model",
        action="store_true",
        help="skip the run and the evaluation (steps 2 and 3): a quick look at every page",
    )
    args = parser.parse_args()
    images, pages = Path(args.images), Path(args.pages)
    images.mkdir(parents=True, exist_ok=True)
    pages.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings

    from ift_desktop.ui.app import create_app
    from ift_desktop.ui.context import AppContext
    from ift_desktop.ui.main_window import PAGES, MainWindow

    app = create_app([])
    context = AppContext(settings=QSettings(str(pages / "settings.ini"), QSettings.IniFormat))
    window = MainWindow(context)
    window.resize(1280, 800)
    window.show()

    def settle(until=lambda: True, timeout_s: float = 60.0, pause_s: float = 0.5) -> bool:
        # processEvents + sleep, not QTest.qWait, which keeps Python's lock and starves the workers
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and not until():
            app.processEvents()
            time.sleep(0.05)
        done = until()
        end = time.monotonic() + pause_s
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)
        return done

    def shot(path: Path) -> None:
        window.grab().save(str(path))
        print("saved", path, flush=True)

    # 1 the wizard ---------------------------------------------------------------------------------------
    window.show_page("data")
    data = window.pages["data"]
    source = data.source_step
    source.set_sample("dialogue_summaries")
    source.load()
    if not settle(lambda: data.state.table is not None and source.task is None, 120):
        return fail("the sample did not load", source.message.text())
    for _ in range(4):  # columns, template, split; the split step's Next prepares the examples, then moves on
        data.next()
    settle(lambda: data.current == 4, 300)
    stats = data.stats_step
    if not settle(lambda: stats.stats is not None and stats.task is None, 300):
        return fail("the statistics were not measured", stats.message.text())
    stats.max_spin.setValue(stats.stats.suggested_max_length())
    settle()
    shot(images / "wizard-statistics.png")
    for width, height in SIZES:
        window.resize(width, height)
        settle(pause_s=1.0)
        shot(pages / f"data-statistics-{width}x{height}.png")
    window.resize(1280, 800)
    data.next()
    save = data.save_step
    save.name_edit.setText("dialogue-summaries")
    save.save()
    if not settle(lambda: save.saved_path is not None and save.task is None, 120):
        return fail("the dataset was not saved", save.message.text())

    if not args.no_model:
        status = show_training_and_evaluation(window, settle, shot, images, pages, save.saved_path, args)
        if status:
            return status

    # 4 every page at both sizes ---------------------------------------------------------------------------
    data.go_to(0)
    for width, height in SIZES:
        window.resize(width, height)
        for key, *_ in PAGES:
            window.show_page(key)
            page = window.pages[key]
            settle(lambda: getattr(page, "_task", None) is None, 120, pause_s=1.0)
            shot(pages / f"{key}-{width}x{height}.png")
            if window.width() > width:
                print(f"WARNING: on {key} the window grew to {window.width()} px", flush=True)
    window.close()
    app.processEvents()
    return 0


def show_training_and_evaluation(window, settle, shot, images: Path, pages: Path, dataset: Path, args) -> int:
    """Steps 2 and 3: a real LoRA run shot while it trains, then base vs fine-tuned on the test split."""
    # 2 a real run ---------------------------------------------------------------------------------------
    window.show_page("train")
    train = window.pages["train"]
    if not settle(lambda: train.trainer_ready and not train.setup.cost_pending, 300):
        return fail("the trainer did not get ready", train.message.text())
    if train.setup.dataset_picker.current_path() != str(dataset):
        return fail(
            "the Train page did not preselect the dataset saved last", train.setup.dataset_picker.current_path()
        )
    train.setup.form.set_values(
        {"max_steps": args.steps, "eval_steps": max(1, args.steps // 2), "eval_max_examples": 16}
    )
    train.setup.probes.add_from_dataset()
    train.run_name.setText("readme-lora")
    started = time.monotonic()
    train.start()
    live_step = max(2, args.steps * 7 // 10)
    if not settle(lambda: len(train.curves.loss) >= live_step, 1800):
        return fail("the run did not reach the step to show", train.status.text())
    train.curves.flush()
    settle(pause_s=1.0)
    shot(images / "training-live.png")
    if not settle(lambda: train.session is None, 1800):
        return fail("the run did not end", train.status.text())
    trained_s = time.monotonic() - started
    print(f"timing: {args.steps} LoRA steps (loading, training, evaluation, saving) took {trained_s:.0f} s", flush=True)

    # 3 evaluation ---------------------------------------------------------------------------------------
    window.show_page("evaluate")
    evaluate = window.pages["evaluate"]
    setup = evaluate.setup
    setup.refresh_runs()
    setup.run_combo.setCurrentIndex(setup.run_combo.findData(str(train.last_run)))
    setup.dataset_combo.setCurrentIndex(setup.dataset_combo.findData(str(dataset)))
    setup.base_check.setChecked(True)
    setup.limit.setValue(args.examples)
    setup.max_new_tokens.setValue(48)
    started = time.monotonic()
    evaluate.start_evaluation()
    if not settle(lambda: evaluate.comparison is not None and not evaluate.is_busy(), 1800):
        return fail("the evaluation did not finish", evaluate.message.text())
    print(
        f"timing: evaluating base and fine-tuned on {args.examples} examples took {time.monotonic() - started:.0f} s",
        flush=True,
    )
    settle(lambda: evaluate.summary.summary is not None, 120)
    evaluate.tabs.setCurrentIndex(1)
    evaluate.examples.sort_by("gain")
    rows = evaluate.examples.visible_rows()
    if rows:
        evaluate.examples.select_row(rows[0])
    settle(pause_s=1.0)
    shot(images / "evaluate-examples.png")
    for width, height in SIZES:
        window.resize(width, height)
        settle(pause_s=1.0)
        shot(pages / f"evaluate-examples-{width}x{height}.png")
    evaluate.tabs.setCurrentIndex(0)
    window.resize(1280, 800)
    return 0


def fail(what: str, detail: str | None) -> int:
    print(f"error: {what}: {detail or 'no message'}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
