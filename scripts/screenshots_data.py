"""Screenshots of every Data wizard step at 1280x800, in the main window, with real data.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_data.py [/tmp/shots] [--tokenizer byt5]

Two walks: the built-in sample (dialogue summaries, with the sample's reviews mixed in) and
DialogSum's dev file from ../shared/data. Plus the inline errors (a missing column, an unknown
template field). Files: ``wizard-<walk>-<n>-<step>.png``. The statistics step uses the built-in
model's tokenizer (converted once into the cache; ``--tokenizer byt5`` uses a byte tokenizer
instead, with no model at all). The workspace is a throw-away folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("IFT_DESKTOP_HOME", tempfile.mkdtemp(prefix="ift-shots-data-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
DIALOGSUM = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.dev.jsonl"
STEP_FILES = ("1-source", "2-columns", "3-template", "4-split", "5-statistics", "6-save")


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0] if args else "/tmp/shots")
    out.mkdir(parents=True, exist_ok=True)
    use_byt5 = "--tokenizer" in sys.argv and sys.argv[sys.argv.index("--tokenizer") + 1] == "byt5"

    from PySide6.QtCore import QSettings

    from ift_desktop.ui.app import create_app
    from ift_desktop.ui.context import AppContext
    from ift_desktop.ui.main_window import MainWindow

    app = create_app([])
    context = AppContext(settings=QSettings(str(out / "settings-data.ini"), QSettings.IniFormat))
    window = MainWindow(context)
    window.resize(1280, 800)
    window.show()
    window.show_page("data")
    page = window.pages["data"]
    if use_byt5:
        from transformers import ByT5Tokenizer

        page.stats_step.tokenizer_loader = lambda text, state=None: (ByT5Tokenizer(), False)

    def pump(seconds: float) -> None:
        # processEvents + time.sleep, not QTest.qWait: qWait keeps the GIL while it sleeps, which
        # starves the worker threads (a model conversion crawls).
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    def settle(until=None, timeout_s=600.0):
        pump(0.2)
        end = time.monotonic() + timeout_s
        while until is not None and not until() and time.monotonic() < end:
            pump(0.2)
        pump(0.3)  # let layouts and queued shows run before grabbing

    def idle(step):
        return lambda: step.task is None

    def shot(name):
        path = out / f"wizard-{name}.png"
        window.grab().save(str(path))
        print("saved", path, flush=True)

    def walk(name, choose_source, before_split=None):
        page._show(0)
        choose_source()
        page.source_step.load()
        settle(lambda: page.state.table is not None and page.source_step.task is None)
        shot(f"{name}-{STEP_FILES[0]}")
        for index in range(1, 6):
            if index == 4:  # statistics: Next waits for the split worker, then tokenizes
                page.split_step.refresh()  # prepare again, to catch its progress line on screen
                page.next()
                pump(0.05)
                shot(f"{name}-4-split-working")
                settle(lambda: page.current == 4 and page.stats_step.task is None and page.stats_step.stats is not None)
            else:
                if not page.next():
                    shot(f"{name}-stuck-at-{index}")
                    raise SystemExit(
                        f"{name}: the wizard stayed on step {index}: {page.steps[index - 1].message.text()}"
                    )
                if index == 3 and before_split is not None:
                    settle(idle(page.split_step))
                    before_split()
                settle(idle(page.steps[index]))
            if index == 5:
                page.save_step.save()
                settle(lambda: page.save_step.saved_path is not None or page.save_step.message.kind == "error")
            shot(f"{name}-{STEP_FILES[index]}")

    def mix_in_reviews():
        page.split_step.add_sample("reviews")
        settle(idle(page.split_step))
        page.split_step.table.cellWidget(1, 4).setValue(100)
        page.split_step.refresh()
        settle(idle(page.split_step))

    walk("sample", lambda: page.source_step.set_sample("dialogue_summaries"), before_split=mix_in_reviews)
    page.state.extra.clear()
    walk("dialogsum", lambda: page.source_step.set_file(DIALOGSUM))

    # the inline errors
    page._show(1)
    page.mapping_step._set_task("translation", None)
    page.next()
    settle()
    shot("error-missing-column")
    page.mapping_step._set_task("summarization", None)
    page.next()
    settle()
    page.template_step.start_editing(copy=False)
    page.template_step.prompt_edit.setPlainText("Summarize this chat:\n{{ dialog }}")
    page.template_step.refresh_preview()
    settle()
    shot("error-template-field")
    page.template_step.stop_editing()
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
