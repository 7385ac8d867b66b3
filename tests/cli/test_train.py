"""`ift-desktop train`: the run folder of the contract, resume, and bad input (exit 2, one line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ift_desktop.cli import main

TINY_DATA = dict(n=12, val=4, test=2)
pytestmark = pytest.mark.usefixtures("one_thread")

METRIC_FIELDS = {"step", "epoch", "loss", "learning_rate", "grad_norm", "elapsed_s", "tokens_per_s"}


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_train_writes_the_contract_run_folder_and_resumes(tmp_path, llama, data, capsys):
    run = tmp_path / "run"
    args = ["train", "--data", str(data), "--model", str(llama), "--method", "lora", "--lr", "0.005",
            "--batch-size", "4", "--max-length", "128", "--lora-r", "4", "--seed", "3", "--out", str(run)]  # fmt: skip
    assert main(args + ["--max-steps", "3", "--eval-steps", "3", "--save-steps", "3"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["steps"] == 3
    assert "step 3/3" in err and "Traceback" not in err  # plain lines when stderr is not a terminal
    rows = _metrics(run)
    assert [row["step"] for row in rows] == [1, 2, 3]
    assert all(METRIC_FIELDS <= set(row) for row in rows) and "eval_loss" in rows[-1]
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished" and record["config"]["lora_r"] == 4 and record["config"]["seed"] == 3
    assert record["model"]["source"] == "local" and record["versions"]["torch"]
    assert (run / "adapter" / "adapter_config.json").is_file()

    assert main(args + ["--max-steps", "5", "--eval-steps", "3", "--save-steps", "3", "--resume"]) == 0
    assert [row["step"] for row in _metrics(run)] == [1, 2, 3, 4, 5]
    assert json.loads((run / "run.json").read_text())["global_step"] == 5


def test_full_method_saves_the_model(tmp_path, llama, data, capsys):
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--model", str(llama), "--method", "full", "--max-steps", "2",
                 "--lr", "1e-3", "--out", str(run)]) == 0  # fmt: skip
    assert (run / "model" / "config.json").is_file() and not (run / "adapter").exists()


def _bad(tmp_path: Path, llama: Path, data: Path, case: str) -> list[str]:
    empty = tmp_path / "empty-model"
    empty.mkdir(exist_ok=True)
    corrupt = tmp_path / "corrupt-model"
    corrupt.mkdir(exist_ok=True)
    (corrupt / "config.json").write_text("{ this is not json")
    (corrupt / "model.safetensors").write_bytes(b"junk")
    no_files = tmp_path / "not-a-dataset"
    no_files.mkdir(exist_ok=True)
    (no_files / "notes.txt").write_text("hello")
    base = {"--data": str(data), "--model": str(llama), "--out": str(tmp_path / "run"), "--max-steps": "1"}
    changes = {
        "empty model folder": {"--model": str(empty)},
        "corrupt model folder": {"--model": str(corrupt)},
        "dataset without files": {"--data": str(no_files)},
        "unknown method": {"--method": "qlora"},
        "negative learning rate": {"--lr": "-0.001"},
        "zero batch": {"--batch-size": "0"},
        "zero max steps": {"--max-steps": "0"},
        "resume without a run": {"--resume": None},
    }[case]
    merged = {**base, **changes}
    argv = ["train"]
    for key, value in merged.items():
        argv += [key] if value is None else [key, value]
    return argv


@pytest.mark.parametrize(
    "case, words",
    [
        ("empty model folder", "is empty"),
        ("corrupt model folder", "not valid JSON"),
        ("dataset without files", "not a prepared dataset"),
        ("unknown method", "invalid choice"),
        ("negative learning rate", "learning_rate"),
        ("zero batch", "batch_size"),
        ("zero max steps", "max_steps"),
        ("resume without a run", "no run to resume"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, llama, data, capsys, case, words):
    with pytest.raises(SystemExit) if case == "unknown method" else _no_raise() as caught:
        code = main(_bad(tmp_path, llama, data, case))
    if case == "unknown method":
        code = caught.value.code
    _, err = capsys.readouterr()
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], err
    assert not (tmp_path / "run").exists()  # nothing was written


class _no_raise:
    value = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _dialogsum_dataset(shared_data: Path, folder: Path, n_train: int, n_val: int) -> Path:
    rows = [json.loads(line) for line in (shared_data / "dialogsum" / "dialogsum.dev.jsonl").read_text().splitlines()]
    examples = [
        {
            "prompt": f"Summarize this dialogue:\n{row['dialogue']}",
            "completion": row["summary"],
            "task": "summarization",
        }
        for row in rows[: n_train + n_val]
    ]
    folder.mkdir(parents=True)
    for name, items in (("train", examples[:n_train]), ("validation", examples[n_train:]), ("test", [])):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(item) + "\n" for item in items))
    manifest = {"source": "dialogsum.dev.jsonl", "task": "summarization", "counts": {"train": n_train}, "seed": 0}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.slow
def test_builtin_lora_on_dialogsum(tmp_path, shared_data, capsys):
    data = _dialogsum_dataset(shared_data, tmp_path / "dialogsum", n_train=12, n_val=4)
    run = tmp_path / "run"
    code = main(["train", "--data", str(data), "--model", "builtin", "--method", "lora", "--max-steps", "4",
                 "--batch-size", "2", "--max-length", "256", "--eval-steps", "4", "--probe", "Summarize this "
                 "dialogue:\n#Person1#: Lunch at noon?\n#Person2#: Sure, see you then.", "--out", str(run)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    rows = _metrics(run)
    assert [row["step"] for row in rows] == [1, 2, 3, 4] and "eval_loss" in rows[-1]
    record = json.loads((run / "run.json").read_text())
    assert record["chat_template"] is True and record["model"]["source"] == "builtin"
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    probes = [json.loads(line) for line in (run / "probes.jsonl").read_text().splitlines()]
    assert [p["step"] for p in probes] == [0, 4] and probes[0]["answers"][0]["answer"]


class _Terminal:
    def __init__(self, tty: bool):
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_progress_bar_on_a_terminal_plain_lines_otherwise(tty):
    from ift_desktop.commands.train import _Reporter

    stream = _Terminal(tty)
    reporter = _Reporter(stream)
    for step in (1, 2):
        reporter({"type": "log", "step": step, "max_steps": 4, "loss": 1.5, "learning_rate": 3e-4,
                  "grad_norm": 0.9, "tokens_per_s": 120.0, "eta_s": 75.0})  # fmt: skip
    reporter({"type": "eval", "step": 2, "eval_loss": 1.25})
    reporter.close()
    if tty:
        assert "\rstep 2/4 [############............]" in stream.text and "ETA 1:15" in stream.text
        assert stream.text.count("\n") == 2  # the bar line ended once by the eval line, plus that line
    else:
        assert "\r" not in stream.text
        assert stream.text.splitlines()[:2] == [
            "step 1/4 loss 1.5000  lr 3.00e-04  grad 0.900  120 tok/s  ETA 1:15",
            "step 2/4 loss 1.5000  lr 3.00e-04  grad 0.900  120 tok/s  ETA 1:15",
        ]
        assert stream.text.splitlines()[2] == "step 2: validation loss 1.2500"


def test_help_text_is_readable():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ift_desktop", "train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "option_strings" not in out.stdout and "about 1.5 times the time" in " ".join(out.stdout.split())
