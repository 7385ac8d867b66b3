"""Screenshots of the Evaluate page's Forgetting tab at 1280x800, with real checks (no scripted numbers).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_forgetting.py RUN_DIR [OUT] [--mmlu DIR]
        [--subjects N] [--limit N] [--shots N] [--task-limit N]

RUN_DIR is a finished LoRA run of the built-in model (its folder is copied into a throw-away workspace,
without checkpoints). Writes forget-before.png (the tab, MMLU folder chosen), forget-running.png,
forget-mmlu.png (the MMLU result), forget-task.png (the sample's reviews as the other instruction task)
and forget-stored.png (the MMLU result reopened from the stored list). With ``--open-stored`` and the
IFT_DESKTOP_HOME of an earlier run, the stored checks are reopened instead of run again (layout work). Both checks really load the base
model and the run and score them, so this takes minutes on a CPU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("IFT_DESKTOP_HOME", tempfile.mkdtemp(prefix="ift-forget-shots-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("out", nargs="?", type=Path, default=Path("/tmp/shots"))
    parser.add_argument("--mmlu", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "mmlu")
    parser.add_argument("--subjects", type=int, default=5)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--task-limit", type=int, default=16)
    parser.add_argument(
        "--open-stored",
        action="store_true",
        help="with IFT_DESKTOP_HOME of an earlier run: reopen its stored checks instead of running them",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest

    from ift_desktop.core.data.prepare import PrepareConfig, prepare
    from ift_desktop.ui.app import create_app
    from ift_desktop.ui.context import AppContext
    from ift_desktop.ui.main_window import MainWindow

    app = create_app([])
    context = AppContext(settings=QSettings(str(args.out / "forget-settings.ini"), QSettings.IniFormat))
    workspace = context.workspace
    run_dir = workspace.runs_dir / args.run.name
    if not run_dir.exists():
        shutil.copytree(args.run, run_dir, ignore=shutil.ignore_patterns("checkpoints"))
    reviews = workspace.datasets_dir / "sample-reviews"
    if not reviews.exists():
        prepare(PrepareConfig(source="sample:reviews", val=0.1, test=0.25), reviews)

    window = MainWindow(context)
    window.resize(1280, 800)
    window.show()
    window.show_page("evaluate")
    page = window.pages["evaluate"]
    tab = page.forgetting
    page.tabs.setCurrentWidget(tab)

    def settle(until, timeout_s=1800.0):
        # Python's sleep lets go of the GIL; QTest.qWait would keep it and starve the worker thread
        end = time.monotonic() + timeout_s
        while not until() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.1)
        QTest.qWait(300)

    def shot(name):
        path = args.out / f"forget-{name}.png"
        window.grab().save(str(path))
        print(path, flush=True)

    tab.set_mmlu_folder(str(args.mmlu))
    for row in range(args.subjects, tab.subjects.count()):
        tab.subjects.item(row).setCheckState(Qt.Unchecked)
    tab.shots.setValue(args.shots)
    tab.mmlu_limit.setValue(args.limit)
    QTest.qWait(300)
    shot("before")

    stored = {tab.stored_combo.itemText(i): tab.stored_combo.itemData(i) for i in range(tab.stored_combo.count())}
    if args.open_stored and stored:
        for name, path in sorted(stored.items()):
            tab.stored_combo.setCurrentIndex(tab.stored_combo.findData(path))
            tab.open_result(path)
            QTest.qWait(300)
            shot("task" if "reviews" in name else "mmlu")
    else:
        started = time.monotonic()
        tab.start_check()
        settle(lambda: tab.progress.bar.value() > 300, 900)
        shot("running")
        settle(lambda: not tab.is_busy())
        print(
            f"MMLU check: {time.monotonic() - started:.0f} s; {tab.message.text() or tab.headline.text()}", flush=True
        )
        shot("mmlu")

        tab.task_radio.setChecked(True)
        tab.dataset_combo.setCurrentIndex(max(0, tab.dataset_combo.findData(str(reviews))))
        tab.task_limit.setValue(args.task_limit)
        tab.max_new_tokens.setValue(8)
        started = time.monotonic()
        tab.start_check()
        settle(lambda: not tab.is_busy())
        print(
            f"Task check: {time.monotonic() - started:.0f} s; {tab.message.text() or tab.headline.text()}", flush=True
        )
        shot("task")

    tab.mmlu_radio.setChecked(True)
    tab.stored_combo.setCurrentIndex(tab.stored_combo.count() - 1)  # the oldest: the MMLU check
    tab.open_result(tab.stored_combo.currentData())
    QTest.qWait(300)
    shot("stored")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
