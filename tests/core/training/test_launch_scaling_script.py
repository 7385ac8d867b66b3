"""The CPU-side logic of benchmarks/launch_scaling.py (the GPU check itself needs CUDA)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "launch_scaling.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("launch_scaling", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_plan_measures_all_gpus_only_when_there_are_several(script):
    assert script.plan(1) == [("app", 1), ("launched", 1)]
    assert script.plan(4) == [("app", 1), ("launched", 1), ("launched", 4)]


def test_throughput_skips_the_warm_up_and_counts_the_global_batch(script):
    rows = [
        {"step": s, "loss": 1.0, "elapsed_s": 0.5 * s + (5 if s > 2 else 0), "tokens_per_s": 100.0 * s}
        for s in range(1, 11)
    ]
    result = script.throughput(rows, global_batch=8, warmup=2)
    assert result["steps"] == 7 and result["examples_per_s"] == pytest.approx(7 * 8 / 3.5)
    assert result["tokens_per_s"] == 700.0
    with pytest.raises(ValueError):
        script.throughput(rows[:3], global_batch=8, warmup=2)


def test_verdicts_compare_the_paths(script):
    results = {"app x1": {"examples_per_s": 10.0}, "launched x1": {"examples_per_s": 9.5},
               "launched x4": {"examples_per_s": 20.0}}  # fmt: skip
    checks = {name: passed for name, passed, _ in script.verdicts(results)}
    assert checks == {"launched x1 not slower than the app's process": True, "launched x4 scales over one GPU": False}


def test_without_a_gpu_it_says_so_and_runs_nothing(script, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert script.main([]) == 2
    assert "No CUDA GPU here" in capsys.readouterr().out
