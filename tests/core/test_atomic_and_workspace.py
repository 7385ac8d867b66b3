"""Atomic writes never leave half-written files or folders; the workspace lists what is on disk."""

import json

import pytest

from ift_desktop.core.atomic import atomic_directory, atomic_write_json, atomic_write_text
from ift_desktop.core.workspace import Workspace, unique_name


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_json(target, {"x": 1})
    atomic_write_json(target, {"x": 2})
    assert json.loads(target.read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_failed_directory_write_keeps_the_old_folder(tmp_path):
    target = tmp_path / "dataset"
    with atomic_directory(target) as tmp:
        (tmp / "train.jsonl").write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "train.jsonl").write_text("new, half")
            raise RuntimeError("disk full")
    assert (target / "train.jsonl").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]


def test_directory_write_replaces_whole_folder(tmp_path):
    target = tmp_path / "dataset"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("1")
    with atomic_directory(target) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]


def test_workspace_lists_from_folders_and_survives_a_lost_index(tmp_path):
    ws = Workspace(tmp_path)
    run = ws.new_run_path("my run")
    run.mkdir()
    atomic_write_json(run / "run.json", {"status": "finished"})
    data = ws.new_dataset_path("dialogues")
    data.mkdir()
    atomic_write_json(data / "manifest.json", {"counts": {"train": 3}})
    atomic_write_text(ws.new_evaluation_path("eval"), json.dumps({"corpus": {}, "examples": [1, 2]}))
    assert [r.name for r in ws.list_runs()] == ["my-run"]
    assert ws.list_runs()[0].summary["status"] == "finished"
    assert [d.name for d in ws.list_datasets()] == ["dialogues"]
    assert "examples" not in ws.list_evaluations()[0].summary
    (tmp_path / "workspace.sqlite").unlink()
    assert [r.name for r in Workspace(tmp_path).list_runs()] == ["my-run"]


def test_unique_names_do_not_collide(tmp_path):
    (tmp_path / "run").mkdir()
    assert unique_name(tmp_path, "run") == "run-2"
    assert unique_name(tmp_path, "a/b: c") == "a-b-c"
