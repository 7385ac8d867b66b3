"""Pairing base and fine-tuned evaluations, in the core where the page's worker and a command can call it."""

from __future__ import annotations

import json

from ift_desktop.core.evaluation.pairing import base_model_of_run, pair_paths
from ift_desktop.core.workspace.store import Workspace


def test_base_model_of_run_reads_the_record_and_falls_back_to_builtin(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    assert base_model_of_run(run) == "builtin"  # no run.json
    (run / "run.json").write_text("{not json", encoding="utf-8")
    assert base_model_of_run(run) == "builtin"  # damaged record
    (run / "run.json").write_text(json.dumps(["a list"]), encoding="utf-8")
    assert base_model_of_run(run) == "builtin"
    (run / "run.json").write_text(
        json.dumps({"model": {"source": "hub", "name_or_path": "org/model"}}), encoding="utf-8"
    )
    assert base_model_of_run(run) == "org/model"
    (run / "run.json").write_text(json.dumps({"model": {"source": "builtin", "name_or_path": "x"}}), encoding="utf-8")
    assert base_model_of_run(run) == "builtin"
    (run / "run.json").write_text(json.dumps({"model": "/models/base"}), encoding="utf-8")
    assert base_model_of_run(run) == "/models/base"


def test_pair_paths_name_each_side_and_never_reuse_a_file(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    jobs = [("base", "builtin"), ("tuned", "/runs/r1")]
    paths = pair_paths(workspace, jobs, tmp_path / "reviews", "test", "r1")
    assert {side: p.name for side, p in paths.items()} == {
        "base": "r1-reviews-test-base.json",
        "tuned": "r1-reviews-test-tuned.json",
    }
    assert paths["base"].parent == workspace.evaluations_dir and paths["base"].parent.is_dir()
    paths["base"].write_text("{}", encoding="utf-8")
    again = pair_paths(workspace, jobs[:1], tmp_path / "reviews", "test", None)
    assert again["base"].name == "reviews-test-base.json"
    assert pair_paths(workspace, jobs[:1], tmp_path / "reviews", "test", "r1")["base"] != paths["base"]
