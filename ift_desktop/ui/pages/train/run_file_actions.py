"""The Train page's "Save run file…" / "Open run file…": the page's choices as one run file, and
back. A run file never carries consent to run a model's own code (see core/training/run_file.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from ift_desktop.core.errors import UserError


def save_run_file(page, path: str | Path | None = None) -> Path | None:
    """Write what Start would run to ``path`` (asked for when None); errors show inline."""
    from ift_desktop.core.training.run_file import RunFile

    try:
        spec, data_dir, config = page.setup.request()
        _mode, processes, strategy = page.setup.where.choice()
        run_file = RunFile(config, spec, data_dir, processes=processes, strategy=strategy)
    except UserError as exc:
        page.message.show_error(exc.one_line())
        return None
    if path is None:
        path, _ = QFileDialog.getSaveFileName(
            page, "Save run file", str(Path.home() / "launch.json"), "Run file (*.json)"
        )
        if not path:
            return None
    written = run_file.write(path)
    page.message.show_message(
        "info", f"Saved the run file {written}. Start it anywhere with: ift-desktop train --config {written}"
    )
    return written


def open_run_file(page, path: str | Path | None = None) -> bool:
    """Fill the page from a run file (or a run folder's run.json); errors show inline."""
    from ift_desktop.core.training.run_file import RunFile

    if path is None:
        path, _ = QFileDialog.getOpenFileName(page, "Open run file", str(Path.home()), "Run file (*.json)")
        if not path:
            return False
    try:
        run_file = RunFile.read(path)
    except UserError as exc:
        page.message.show_error(exc.one_line())
        return False
    setup = page.setup
    setup.model_picker.select(str(run_file.model))
    data = str(run_file.data_dir)
    if setup.dataset_picker.combo.findData(data) < 0:
        setup.dataset_picker.combo.addItem(f"{run_file.data_dir.name}  (from the run file)", data)
        setup.dataset_picker.combo.setVisible(True)
        setup.dataset_picker.empty.setVisible(False)
    setup.dataset_picker.select(data)
    setup.show_config(run_file.config)
    setup.where.set_choice(run_file.processes, run_file.strategy, separate=run_file.processes > 1)
    page.message.show_message("info", f"Opened the run file {Path(path).name}; press Start to run it.")
    return True
