"""Is the window responsive while a real training run draws its live curves on the Train page?

    .venv/bin/python benchmarks/ui_responsiveness.py [--steps 6] [--n 64] [--screenshot /tmp/train-page.png]

Opens the Train page (offscreen Qt platform unless a display is set) in a fresh workspace holding
DialogSum dev examples, starts a real LoRA run of the built-in model with the app's defaults except
``--steps`` steps and a validation every 2 steps (so the validation, probe and checkpoint phases
happen too), with one probe prompt, and pings the event loop with a 10 ms ``QTimer`` for the whole
run (loading, tokenizing, steps, validations, probes, saving). Lateness = the gap between two pings
minus 10 ms. Prints p50 / p99 / max lateness and where the five worst gaps fell; goals (issue 14): p99 < 50 ms,
max < 200 ms. Also prints the LoRA memory the page showed before Start against the app process's peak RSS (the
run trains inside it). Saves a screenshot of the page in the middle of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DIALOGSUM_DEV = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.dev.jsonl"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--n", type=int, default=64, help="DialogSum dev examples in the dataset")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--screenshot", default="/tmp/ift-train-page-during-run.png")
    args = parser.parse_args(argv)

    import torch
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    torch.set_num_threads(args.threads)
    from ift_desktop.core.data.dataset_files import write_dataset
    from ift_desktop.core.workspace import Workspace
    from ift_desktop.ui.context import AppContext
    from ift_desktop.ui.pages.train.page import TrainPage

    _app = QApplication.instance() or QApplication([])  # kept alive for the whole measurement
    from ift_desktop.core.libraries import warm_up

    warm_up()  # as the main window does when the app starts, before any page starts a worker
    work = Path(tempfile.mkdtemp(prefix="ift-ui-responsiveness-"))
    workspace = Workspace(work / "workspace")
    rows = [json.loads(line) for line in DIALOGSUM_DEV.read_text(encoding="utf-8").splitlines()[: args.n]]
    split = int(len(rows) * 0.9)
    pairs = [
        {"prompt": f"Summarize the following dialogue:\n\n{r['dialogue']}", "completion": r["summary"]} for r in rows
    ]
    write_dataset(
        workspace.datasets_dir / "dialogsum",
        {"train": pairs[:split], "validation": pairs[split:]},
        {"source": "DialogSum dev (ui responsiveness)"},
    )
    context = AppContext(workspace=workspace, settings=QSettings(str(work / "settings.ini"), QSettings.IniFormat))
    page = TrainPage(context)
    page.resize(1280, 800)
    page.show()

    def wait_until(condition, timeout_s: float) -> bool:
        """Run the real event loop (not a polling loop) until ``condition()`` or the timeout."""
        from PySide6.QtCore import QEventLoop

        loop = QEventLoop()
        end = time.monotonic() + timeout_s
        poll = QTimer()
        poll.setInterval(50)
        poll.timeout.connect(lambda: (condition() or time.monotonic() > end) and loop.quit())
        poll.start()
        if not condition():
            loop.exec()
        poll.stop()
        return condition()

    if not wait_until(lambda: page.trainer_ready and not page.setup.cost_pending, 300):
        print("the Train page did not get ready")
        return 1
    page.setup.dataset_picker.select(str(workspace.datasets_dir / "dialogsum"))
    page.setup.form.editors["max_steps"].widget.setValue(args.steps)
    page.setup.form.editors["eval_steps"].widget.setValue(2)
    page.setup.probes.set_prompts([pairs[split]["prompt"]])
    settled = lambda: page.setup.dataset_max_length is not None and not page.setup.cost_pending  # noqa: E731
    wait_until(lambda: settled() and "memory ≈" in page.setup.method.costs["lora"].text(), 300)
    memory_line = page.setup.method.costs["lora"].text()

    pings: list[float] = []
    shown: list[str] = []  # the status line at each ping: where the worst gaps happened
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: (pings.append(time.monotonic()), shown.append(page.status.text())))
    phases: list[str] = []
    shot = {"taken": False}

    def watch() -> None:
        text = page.status.text()
        if not phases or phases[-1] != text:
            phases.append(text)
        if not shot["taken"] and page.progress.value() >= max(1, args.steps // 2) and page.speed.text():
            page.grab().save(args.screenshot)
            shot["taken"] = True

    watcher = QTimer()
    watcher.setInterval(200)
    watcher.timeout.connect(watch)
    timer.start()
    watcher.start()
    started = time.monotonic()
    page.start_button.click()
    finished = wait_until(lambda: page.session is None and time.monotonic() - started > 1, 1800)
    timer.stop()
    watcher.stop()
    seconds = time.monotonic() - started
    gaps = [(b - a) * 1000 - 10 for a, b in zip(pings, pings[1:])]
    print(
        f"run {'finished' if finished else 'did not finish'} in {seconds:.0f} s; {len(pings)} pings; "
        f"status: {page.status.text()}"
    )
    print("phases shown: " + " | ".join(phases[:40]))
    print(
        f"event-loop lateness (ms): p50 {statistics.median(gaps):.1f}, p99 {percentile(gaps, 0.99):.1f}, "
        f"max {max(gaps):.1f} (goals: p99 < 50, max < 200)"
    )
    worst = sorted(range(len(gaps)), key=gaps.__getitem__, reverse=True)[:5]
    for index in sorted(worst):
        print(
            f"  {gaps[index]:6.1f} ms late at {pings[index] - started:6.1f} s: "
            f"{shown[index][:70]!r} -> {shown[index + 1][:70]!r}"
        )
    if shot["taken"]:
        print(f"screenshot: {args.screenshot}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    shown_memory = re.search(r"memory ≈ ([\d.]+) GiB", memory_line)
    print(
        f"memory: the page showed {shown_memory[1] if shown_memory else '?'} GiB for LoRA; this process (the app, the "
        f"run inside it) peaked at {peak / 2**30:.2f} GiB"
        + (f" (shown / measured {float(shown_memory[1]) * 2**30 / peak:.2f})" if shown_memory else "")
    )
    page.shutdown(5000)
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main())
