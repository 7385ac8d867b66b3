"""The Train page's memory estimate against the measured peak of real runs (CPU: peak RSS).

    .venv/bin/python benchmarks/memory_check.py [--steps 3] [--cases builtin-lora,builtin-full,tiny-lora,tiny-full]
        [--memory auto|lean|fast] [--batch-size 1]

Each case runs the app's own training path (``run_training``, every setting the default except a
few steps and no evaluation or checkpoints) in a fresh process and reads the process's peak RSS
(``ru_maxrss``). The expected peak is what the Train page shows for the same model, method, batch
size and max length (the max length the run recorded): ``estimate_memory``, and for a run whose
memory use was fast (it keeps what it frees) ``allocator.held_bytes`` of it. The built-in model
trains on the longest DialogSum dev dialogues at the default run's max length (672), so every
measured step is a worst-case one. ``--memory`` sets the runs' memory use (core/training/allocator.py;
default auto, what a run does: fast where memory is plentiful). The tiny model of tests/tiny_models.py
trains on its tiny dataset. Prints one table: measured, expected, expected / measured. The goal is
within 15 %.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_RUN_MAX_LENGTH = 672  # what the default run takes from DialogSum dev (the dataset's statistics)
DIALOGSUM_DEV = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.dev.jsonl"


def dataset(kind: str, work: Path, examples: int) -> Path:
    """The tiny dataset, or the ``examples`` longest DialogSum dev dialogues: every batch of the
    measured steps is then about as long as the default run's longest, and the optimizer state
    (created after the first step) is there for the later ones, as in a long run."""
    from ift_desktop.core.data.dataset_files import write_dataset

    if kind == "tiny":
        sys.path.insert(0, str(REPO / "tests"))
        from tiny_models import make_tiny_dataset

        return make_tiny_dataset(work / "tiny-data", n=64, val=0, test=0)
    rows = [json.loads(line) for line in DIALOGSUM_DEV.read_text(encoding="utf-8").splitlines()[:450]]
    rows = sorted(rows, key=lambda r: len(r["dialogue"]), reverse=True)[:examples]
    train = [
        {"prompt": f"Summarize the following dialogue:\n\n{r['dialogue']}", "completion": r["summary"]} for r in rows
    ]
    return write_dataset(work / "dialogsum-dev", {"train": train}, {"source": "DialogSum dev (memory check)"})


def child(args) -> None:
    """One case: train, then print the peak RSS and the run's settings as JSON."""
    import torch

    torch.set_num_threads(args.threads)
    from ift_desktop.core.models import ModelSpec
    from ift_desktop.core.training import RunFolder, TrainConfig, run_training

    model_kind, method = args.case.split("-")
    work = Path(args.work)
    if model_kind == "tiny":
        sys.path.insert(0, str(REPO / "tests"))
        from tiny_models import make_tiny_llama

        spec = ModelSpec.parse(str(make_tiny_llama(work / "tiny-llama", chat_template=True)))
    else:
        spec = ModelSpec.parse("builtin")
    config = TrainConfig(
        method=method,
        max_steps=args.steps,
        eval_steps=0,
        save_steps=0,
        memory=args.memory,
        batch_size=args.batch_size,
        max_length=None if model_kind == "tiny" else DEFAULT_RUN_MAX_LENGTH,
    )
    data_dir = dataset(model_kind, work, examples=config.batch_size * config.grad_accum * args.steps)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    run_training(config, data_dir=data_dir, model=spec, out_dir=work / f"run-{args.case}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    record = RunFolder(work / f"run-{args.case}").read_record()
    print(
        "RESULT "
        + json.dumps(
            {
                "peak": peak,
                "runtime": before,
                "config": record["config"],
                "memory": record["device"]["memory"],
                "dtype": record["device"]["dtype"],
                "spec": spec.name_or_path,
                "source": spec.source,
            }
        )
    )


def estimate(result: dict):
    """``(MemoryEstimate, expected peak)``: the estimate the Train page makes for the run's settings, and
    the peak it shows for the memory use the run had (fast holds more: allocator.held_bytes)."""
    import torch

    from ift_desktop.core.models import ModelSpec, load_model_config
    from ift_desktop.core.models.memory import estimate_memory
    from ift_desktop.core.training.allocator import held_bytes

    config = result["config"]
    dtype = getattr(torch, result.get("dtype") or "float32")  # the run's arithmetic (bf16 where native)
    spec = ModelSpec.parse("builtin" if result["source"] == "builtin" else result["spec"])
    guess = estimate_memory(
        load_model_config(spec),
        method=config["method"],
        batch_size=config["batch_size"],
        max_length=config["max_length"],
        lora_r=config["lora_r"],
        lora_layers=config.get("lora_layers"),
        gradient_checkpointing=config["gradient_checkpointing"],
        dtype=dtype,
    )
    if result["memory"] == "fast":
        return guess, held_bytes(guess.total_bytes, guess.runtime_bytes)
    return guess, guess.total_bytes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1, help="examples per pass (the default: 1)")
    parser.add_argument("--cases", default="tiny-lora,tiny-full,builtin-lora,builtin-full")
    parser.add_argument(
        "--memory",
        default="auto",
        choices=("auto", "lean", "fast"),
        help="the runs' memory use (default auto, as a run)",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        child(args)
        return 0
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ift-memory-check-") as work:
        for case in args.cases.split(","):
            command = [
                sys.executable,
                __file__,
                "--case",
                case,
                "--work",
                work,
                "--steps",
                str(args.steps),
                "--threads",
                str(args.threads),
                "--memory",
                args.memory,
                "--batch-size",
                str(args.batch_size),
            ]
            done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
            lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if not lines:
                print(f"{case} failed:\n{done.stderr[-3000:]}")
                return 1
            result = json.loads(lines[-1][len("RESULT ") :])
            guess, expected = estimate(result)
            ratio = expected / result["peak"]
            rows.append((case, result, expected, ratio))
            print(
                f"{case}: peak RSS {result['peak'] / 2**30:.2f} GiB (runtime before loading "
                f"{result['runtime'] / 2**30:.2f}), memory {result['memory']}, expected {expected / 2**30:.2f} GiB "
                f"({ratio:.2f}x); batch {result['config']['batch_size']}, max length {result['config']['max_length']}; "
                f"parts: "
                + ", ".join(
                    f"{k} {v / 2**20:.0f} MiB"
                    for k, v in guess.to_dict().items()
                    if k.endswith("_bytes") and k != "total_bytes"
                ),
                flush=True,
            )
    print(
        "\n| case | precision | memory use | batch x max length | peak RSS GiB | expected GiB | expected / measured |"
    )
    print("|---|---|---|---|---|---|---|")
    for case, result, expected, ratio in rows:
        config = result["config"]
        print(
            f"| {case} | {result.get('dtype')} | {result['memory']} | {config['batch_size']} x {config['max_length']} | "
            f"{result['peak'] / 2**30:.2f} | {expected / 2**30:.2f} | {ratio:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
