"""Screenshots of the Evaluate page at 1280x800, with evaluations scored here (no model needed).

Writes, into a temporary workspace, a seed comparison ("It is cold outside" against "cold cold cold
cold" as the base prediction and "outside cold it is" as the fine-tuned one) and a DialogSum one
(summary1 as the reference, summary2 as the "base" prediction, summary3 as the "fine-tuned" one),
scored with ``ift_desktop.core.evaluation.metrics.score``; then opens each in the page and saves
``/tmp/shots/eval-*.png`` (overview, examples table, detail view per overlap kind).

    .venv/bin/python scripts/screenshots_evaluate.py [--out /tmp/shots] [--limit 40] [--page-only]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIALOGSUM = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.test.jsonl"


def evaluation(name: str, prompts, predictions, references, *, role: str, partner: str | None, run=None) -> dict:
    from ift_desktop.core.evaluation.metrics import score

    scored = score(predictions, references)
    examples = []
    for i, metric in enumerate(scored["examples"]):
        examples.append(
            {"index": i, "prompt": prompts[i], "prediction": predictions[i], "references": references[i], **metric}
        )
    return {
        "kind": "evaluation",
        "model": "builtin" if role == "base" else f"{name} (fine-tuned)",
        "run": run,
        "split": "test",
        "corpus": scored["corpus"],
        "settings": scored.get("settings"),
        "warnings": scored.get("warnings") or [],
        "examples": examples,
        "comparison": {"id": name, "role": role, "partner": partner},
    }


def write_pair(folder: Path, name: str, prompts, base, tuned, references) -> None:
    from ift_desktop.core.atomic import atomic_write_json

    atomic_write_json(
        folder / f"{name}-base.json", evaluation(name, prompts, base, references, role="base", partner=f"{name}-tuned")
    )
    atomic_write_json(
        folder / f"{name}-tuned.json",
        evaluation(
            name,
            prompts,
            tuned,
            references,
            role="tuned",
            partner=f"{name}-base",
            run=str(folder.parent / "runs" / name),
        ),
    )


def seed_texts():
    reference = "It is cold outside"
    prompts = [
        "Describe the weather.",
        "Describe the weather in four words.",
        "Say something about the cold.",
        "Summarize: the weather today.",
    ]
    base = ["cold cold cold cold", "It is cold outside", "", "The weather is nice and warm outside today."]
    tuned = ["outside cold it is", "It is very cold outside", "It is cold", "Outside it is cold."]
    return prompts, base, tuned, [[reference]] * len(prompts)


def dialogsum_texts(limit: int):
    rows = [json.loads(line) for line in DIALOGSUM.read_text(encoding="utf-8").splitlines()[:limit]]
    prompts = [f"Summarize this dialogue:\n{row['dialogue']}" for row in rows]
    return prompts, [r["summary2"] for r in rows], [r["summary3"] for r in rows], [[r["summary1"]] for r in rows]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/shots")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--page-only", action="store_true", help="grab the page alone, not the main window")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(tempfile.mkdtemp(prefix="ift-shots-"))
    os.environ["IFT_DESKTOP_HOME"] = str(home)
    os.environ.setdefault("IFT_DESKTOP_CACHE", str(home / "cache"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from ift_desktop.core.paths import resources_dir
    from ift_desktop.core.workspace import Workspace
    from ift_desktop.ui.context import AppContext
    from ift_desktop.ui.pages.evaluate import EvaluatePage

    app = QApplication.instance() or QApplication(sys.argv)
    style = resources_dir() / "style.qss"
    if style.exists():
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    workspace = Workspace(home)
    write_pair(workspace.evaluations_dir, "seed", *seed_texts())
    write_pair(workspace.evaluations_dir, "dialogsum", *dialogsum_texts(args.limit))
    context = AppContext(workspace, QSettings(str(home / "settings.ini"), QSettings.IniFormat))
    if args.page_only:
        page = window = EvaluatePage(context)
    else:  # the page as the user sees it: in the main window, beside the sidebar
        from ift_desktop.ui.main_window import MainWindow

        window = MainWindow(context)
        page = window.pages["evaluate"]
        window.show_page("evaluate")
    window.resize(1280, 800)
    window.show()

    def wait(condition, timeout=20.0):
        import time

        end = time.monotonic() + timeout
        while not condition() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)
        app.processEvents()

    def open_pair(name: str) -> None:
        folder = workspace.evaluations_dir
        wait(lambda: not page.is_busy())  # the page may be opening the newest evaluation on its own
        page.open_evaluations(folder / f"{name}-base.json", folder / f"{name}-tuned.json")
        wait(
            lambda: (
                not page.is_busy()
                and page.comparison is not None
                and page.comparison.evaluation("base").name == f"{name}-base"
            )
        )
        wait(lambda: page.summary_stats is not None)

    def shot(name: str) -> None:
        app.processEvents()
        path = out / f"eval-{name}.png"
        window.grab().save(str(path))
        print(path)

    open_pair("seed")
    shot("seed-overview")
    page.tabs.setCurrentIndex(1)
    for kind in ("rouge1", "rouge2", "rougeL", "bleu1", "bleu2"):
        page.examples.select_row(0)
        page.detail.set_kind(kind)
        shot(f"seed-detail-{kind}")
    page.examples.select_row(2)
    page.detail.set_kind("rouge1")
    shot("seed-detail-empty")

    open_pair("dialogsum")
    page.tabs.setCurrentIndex(0)
    shot("dialogsum-overview")
    page.tabs.setCurrentIndex(1)
    page.examples.sort_by("gain")
    rows = page.examples.visible_rows()
    page.examples.select_row(rows[0])
    for kind in ("rouge1", "rouge2", "rougeL", "bleu4"):
        page.detail.set_kind(kind)
        shot(f"dialogsum-detail-{kind}")
    page.examples.regressions.setChecked(True)
    page.examples.select_row(page.examples.visible_rows()[0])
    page.detail.set_kind("rougeL")
    shot("dialogsum-regressions")
    page.examples.regressions.setChecked(False)
    page.export_to(out / "eval-dialogsum-report.html")
    wait(lambda: not page.is_busy())
    print(out / "eval-dialogsum-report.html")
    from ift_desktop.ui.workers import live_tasks

    window.close()  # pages cancel and wait for their workers
    for task in live_tasks():
        print("still running:", task.worker._fn.__name__)
        task.cancel()
        task.wait(5000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
