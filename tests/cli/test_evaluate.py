"""`ift-desktop evaluate` as the contract says: the JSON file, and exit 2 with one line on bad input."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_error_line, written_json
from tiny_models import make_lora_run, make_tiny_dataset

TINY_LLAMA_CHAT = True
TINY_DATA = dict(n=3, val=1, test=3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, llama, data):
    root = tmp_path_factory.mktemp("cli-eval")
    run = make_lora_run(root / "run", llama, config={"method": "lora"})
    failed = make_lora_run(root / "failed-run", llama, with_adapter=False)
    return {"base": llama, "data": data, "run": run, "failed": failed, "root": root}


@pytest.mark.parametrize("which", ["model", "run"])
def test_writes_the_evaluation_json(tiny, tmp_path, ift_cli, which):
    out = tmp_path / "eval.json"
    argv = [f"--{which}", tiny["base" if which == "model" else "run"], "--data", tiny["data"]]
    result, stdout = written_json(ift_cli, out, "evaluate", *argv, "--max-new-tokens", "4", "--limit", "2")
    assert {"corpus", "examples", "model", "run", "split", "generation", "timings"} <= set(result)
    assert len(result["examples"]) == 2 and result["split"] == "test"
    assert {"prompt", "prediction", "references", "overlap", "rougeL", "bleu"} <= set(result["examples"][0])
    assert result["generation"]["max_new_tokens"] == 4
    assert result["run"] == (str(tiny["run"]) if which == "run" else None)
    assert "ROUGE-L" in stdout and str(out) in stdout


def test_sampling_flags_are_recorded(tiny, tmp_path, ift_cli):
    argv = ["--model", tiny["base"], "--data", tiny["data"], "--split", "validation", "--max-new-tokens", "3"]
    sampling = ["--sample", "--temperature", "0.7", "--top-p", "0.9", "--seed", "5", "--no-stemmer"]
    result, _ = written_json(ift_cli, tmp_path / "eval.json", "evaluate", *argv, *sampling)
    gen = result["generation"]
    assert (gen["decoding"], gen["temperature"], gen["top_p"], gen["seed"]) == ("sampling", 0.7, 0.9, 5)
    assert result["split"] == "validation" and result["use_stemmer"] is False


def _bad(tiny, tmp_path):
    data, base = str(tiny["data"]), str(tiny["base"])
    empty = make_tiny_dataset(tmp_path / "empty", n=2, val=1, test=1)
    (empty / "test.jsonl").write_text("")
    return {
        "run without a model": (["--run", str(tiny["failed"]), "--data", data], "no trained model"),
        "model folder as run": (["--run", base, "--data", data], "not a training run"),
        "missing data": (["--model", base, "--data", str(tmp_path / "nope")], "does not exist"),
        "missing split": (["--model", base, "--data", data, "--split", "dev"], "no 'dev' split"),
        "empty split": (["--model", base, "--data", str(empty)], "is empty"),
        "both run and model": (["--model", base, "--run", str(tiny["run"]), "--data", data], "not allowed"),
        "neither": (["--data", data], "required"),
        "bad max-new-tokens": (["--model", base, "--data", data, "--max-new-tokens", "0"], "at least 1"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "run without a model",
        "model folder as run",
        "missing data",
        "missing split",
        "empty split",
        "both run and model",
        "neither",
        "bad max-new-tokens",
    ],
)
def test_bad_input_exits_2_with_one_line(tiny, tmp_path, ift_cli, case):
    argv, expected = _bad(tiny, tmp_path)[case]
    out = tmp_path / "eval.json"
    code, _, err = ift_cli("evaluate", *argv, "--out", out)  # argparse errors count: they exit 2 too
    assert_one_error_line(code, err, expected)
    assert "Traceback" not in err and not out.exists()
