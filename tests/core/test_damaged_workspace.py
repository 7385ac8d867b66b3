"""A damaged index or run log never stops the app from opening: the index is rebuilt from the folders
(the damaged file kept aside) and logs are read tolerantly (invalid UTF-8, a torn last line)."""

from __future__ import annotations

import json

import pytest

from ift_desktop.core.atomic import read_jsonl_tolerant
from ift_desktop.core.training.run_folder import RunFolder
from ift_desktop.core.workspace import Workspace
from ift_desktop.core.workspace.runs import summarize_run


def _run(root, name="run-1"):
    run = root / "runs" / name
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"status": "finished", "config": {"method": "lora"}}))
    rows = [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run


@pytest.mark.parametrize("damage", ["garbage", "folder", "truncated"])
def test_a_damaged_index_is_set_aside_and_rebuilt(tmp_path, damage):
    root = tmp_path / "ws"
    _run(root)
    index = root / "workspace.sqlite"
    if damage == "garbage":
        index.write_bytes(b"\x00\xffnot a database at all" * 100)
    elif damage == "folder":
        index.mkdir()
        (index / "x").write_text("x")
    else:
        Workspace(root).list_runs()
        index.write_bytes(index.read_bytes()[:200])
    workspace = Workspace(root)
    assert [item.name for item in workspace.list_runs()] == ["run-1"]
    assert index.is_file()
    kept = [p for p in root.iterdir() if p.name.startswith("workspace.sqlite.damaged-")]
    assert len(kept) == 1 and workspace.damaged_index == kept[0]


def test_logs_with_bad_bytes_and_a_torn_last_line_are_read(tmp_path):
    run = _run(tmp_path)
    with open(run / "metrics.jsonl", "ab") as handle:
        handle.write(b'{"step": 3, "loss": \xff\xfe}\n[1, 2]\n{"step": 4, "loss": 1.2}\n{"step": 5, "lo')
    (run / "probes.jsonl").write_bytes(b'{"step": 1, "answers": []}\n\xc3\x28\n')
    summary = summarize_run(run)
    assert summary.curve == [(1, 2.0), (2, 1.5), (4, 1.2)]
    assert RunFolder(run).read_probes() == [{"step": 1, "answers": []}]
    assert [row["step"] for row in RunFolder(run).cut_logs_after(2)] == [1, 2]  # what --resume does first
    assert read_jsonl_tolerant(run / "missing.jsonl") == []


def test_a_run_record_that_is_not_an_object_does_not_stop_the_listing(tmp_path):
    run = _run(tmp_path)
    (run / "run.json").write_text("[1, 2]")
    items = Workspace(tmp_path).list_runs()
    assert items[0].summary.get("error")
    assert summarize_run(run).status == "unknown"


def test_the_app_opens_on_a_damaged_workspace(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from ift_desktop.ui.context import AppContext
    from ift_desktop.ui.main_window import MainWindow

    root = tmp_path / "ws"
    run = _run(root)
    (root / "workspace.sqlite").write_bytes(b"garbage" * 50)
    with open(run / "metrics.jsonl", "ab") as handle:
        handle.write(b'\xff\xff\n{"step": 9')
    monkeypatch.setenv("IFT_DESKTOP_HOME", str(root))
    window = MainWindow(AppContext(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)))
    qtbot.addWidget(window)
    window.show_page("runs")
    assert window.current_page_key() == "runs"
    window.close()
