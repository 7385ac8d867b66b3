"""Screenshots of the whole window at 1280x800 on every page, with the built-in sample and model.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots_app.py /tmp/shots [--generate]

Uses a throw-away workspace (IFT_DESKTOP_HOME) unless one is set; the model cache is the normal one.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("IFT_DESKTOP_HOME", tempfile.mkdtemp(prefix="ift-shots-"))


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/shots")
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import QSettings

    from ift_desktop.core.data.prepare import PrepareConfig, prepare
    from ift_desktop.ui.app import create_app
    from ift_desktop.ui.context import AppContext
    from ift_desktop.ui.first_run import SAMPLE_NAME
    from ift_desktop.ui.main_window import PAGES, MainWindow

    app = create_app([])
    context = AppContext(settings=QSettings(str(out / "settings.ini"), QSettings.IniFormat))
    if not context.workspace.list_datasets():
        prepare(PrepareConfig(source="sample"), context.workspace.datasets_dir / SAMPLE_NAME)
    window = MainWindow(context)
    window.resize(1280, 800)
    window.show()

    def settle(ms=600, until=None, timeout=600_000):
        # processEvents + time.sleep, not QTest.qWait: qWait keeps Python's lock while it sleeps,
        # which starves the worker threads doing the real work
        waited = 0
        while True:
            deadline = time.monotonic() + ms / 1000
            while time.monotonic() < deadline:
                app.processEvents()
                time.sleep(0.02)
            waited += ms
            if until is None or until() or waited > timeout:
                return

    for key, *_ in PAGES:
        window.show_page(key)
        page = window.pages[key]
        settle(until=lambda: getattr(page, "_task", None) is None)
        if key == "playground" and "--generate" in sys.argv:
            page.shots_spin.setValue(1)
            page.generate()
            settle(until=lambda: page._task is None and bool(page.answer_score.text()))
        window.grab().save(str(out / f"app-{key}.png"))
        print("saved", out / f"app-{key}.png")
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
