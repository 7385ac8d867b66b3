"""`ift-desktop train --config RUN_FILE`: one process trains what the run file says; bad use says
so in one line (exit 2). Several processes: tests/cli/test_train_launch.py (slow)."""

from __future__ import annotations

import json

import pytest

from ift_desktop.cli import main
from ift_desktop.core.models.spec import ModelSpec
from ift_desktop.core.training.config import TrainConfig
from ift_desktop.core.training.heartbeat import read_run_status
from ift_desktop.core.training.run_file import RunFile

TINY_DATA = dict(n=8, val=2, test=2)
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run_file(tmp_path_factory, llama, data):
    root = tmp_path_factory.mktemp("config")
    config = TrainConfig(
        max_steps=2, batch_size=2, grad_accum=2, lora_r=4, max_length=64, eval_steps=2, save_steps=2, seed=5
    )
    return RunFile(config, ModelSpec.parse(str(llama)), data).write(root / "my-run.json")


def test_one_process_trains_what_the_run_file_says(tmp_path, run_file, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", str(run_file), "--out", str(run)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["steps"] == 2
    record = json.loads((run / "run.json").read_text())
    written = RunFile.read(run_file).config.to_dict() | {"lora_layers": 1}  # auto, recorded: the top half of 2 layers
    assert record["config"] == written and "launch" not in record
    assert RunFile.read(run / "launch.json").config == RunFile.read(run_file).config  # kept beside run.json
    assert read_run_status(run).state == "ended" and read_run_status(run).status == "finished"
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]


@pytest.mark.parametrize(
    "extra, words",
    [(["--lr", "0.1"], "--config takes every setting from the run file; drop --lr"),
     (["--processes", "3"], "cannot be shared evenly by 3 processes")],
)  # fmt: skip
def test_bad_use_of_a_run_file_is_one_line(tmp_path, run_file, capsys, extra, words):
    assert main(["train", "--config", str(run_file), "--out", str(tmp_path / "run"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_a_missing_run_file_or_out_folder_is_one_line(tmp_path, run_file, capsys):
    assert main(["train", "--config", str(tmp_path / "nope.json"), "--out", str(tmp_path / "run")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--config", str(run_file)]) == 2
    assert "add --out RUN" in capsys.readouterr().err
    assert main(["train", "--model", "builtin"]) == 2
    assert "train needs --data, --out (or --config RUN_FILE)" in capsys.readouterr().err
