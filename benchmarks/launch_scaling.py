"""The same LoRA run in the app's process and as a launched process on every GPU here: tokens/s.

Run on a machine with CUDA GPUs (under 10 minutes with the defaults)::

    python benchmarks/launch_scaling.py                       # the built-in 135M model
    python benchmarks/launch_scaling.py --model Qwen/Qwen2.5-0.5B-Instruct   # a 0.5B model (local cache or Hub)

It prepares the built-in sample dataset, then trains the same run (same global batch, seed, steps):

1. ``app``: ``run_training`` in this process, as the Train page's "in this app" does;
2. ``launched x1``: ``ift-desktop train --config RUN_FILE`` in its own process on one GPU (the
   Train page's "as a separate process" with 1 process);
3. ``launched xN``: the same with ``--processes N`` through ``accelerate launch``, N = the GPUs here
   (only when there are at least two).

Throughput is measured from each run's ``metrics.jsonl`` after the first ``--warmup`` steps:
examples/s = optimizer steps × global batch / seconds of training, and tokens/s = non-padding tokens
of all ranks per second. It prints one line per run and two checks: the launched path on one GPU is
not slower than the app's process (≥ 0.9×), and N GPUs scale (≥ 0.6 × N × one GPU).

``--cpu-check`` runs the same plan on this CPU with two gloo processes and the tiny test model
instead (a check of the script's logic, not a measurement of anything that matters).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def plan(gpus: int) -> list[tuple[str, int]]:
    """``(path, processes)`` to measure: the app, one launched process, and all GPUs when several."""
    runs = [("app", 1), ("launched", 1)]
    if gpus >= 2:
        runs.append(("launched", gpus))
    return runs


def throughput(rows: list[dict], global_batch: int, warmup: int) -> dict:
    """examples/s and median tokens/s of the logged steps after ``warmup``."""
    kept = [r for r in rows if r.get("loss") is not None and int(r["step"]) > warmup]
    if len(kept) < 2:
        raise ValueError(f"only {len(kept)} logged steps after the warm-up; train more steps")
    first, last = kept[0], kept[-1]
    seconds = float(last["elapsed_s"]) - float(first["elapsed_s"])
    steps = int(last["step"]) - int(first["step"])
    tokens = [float(r["tokens_per_s"]) for r in kept[1:] if r.get("tokens_per_s")]
    return {
        "examples_per_s": steps * global_batch / seconds if seconds > 0 else float("nan"),
        "tokens_per_s": statistics.median(tokens) if tokens else float("nan"),
        "steps": steps,
    }


def verdicts(results: dict[str, dict]) -> list[tuple[str, bool, str]]:
    """``(check, passed, detail)``: launched x1 not slower than the app; xN scales."""
    checks = []
    app, one = results.get("app x1"), results.get("launched x1")
    if app and one:
        ratio = one["examples_per_s"] / app["examples_per_s"]
        checks.append(("launched x1 not slower than the app's process", ratio >= 0.9, f"{ratio:.2f}x"))
    for name, result in results.items():
        if name.startswith("launched x") and name != "launched x1" and one:
            n = int(name.split("x")[-1])
            ratio = result["examples_per_s"] / one["examples_per_s"]
            checks.append((f"{name} scales over one GPU", ratio >= 0.6 * n, f"{ratio:.2f}x (ideal {n}x)"))
    return checks


def _cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ift_desktop", *map(str, args)], env=env, text=True, capture_output=True
    )


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default="builtin", help="builtin, a Hub id (e.g. Qwen/Qwen2.5-0.5B-Instruct) or a folder"
    )
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8, help="the global batch (shared by the processes)")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--cpu-check", action="store_true", help="check the script's logic on this CPU (tiny model)")
    parser.add_argument("--keep", metavar="DIR", help="keep the runs in DIR")
    args = parser.parse_args(argv)

    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if not gpus and not args.cpu_check:
        print(
            "No CUDA GPU here: this script measures the GPU path; nothing was run (use --cpu-check for a logic check)."
        )
        return 2
    root = Path(args.keep or tempfile.mkdtemp(prefix="ift-launch-scaling-"))
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    model = args.model
    if args.cpu_check:
        sys.path.insert(0, str(REPO / "tests"))
        from tiny_models import make_tiny_dataset, make_tiny_llama

        model, data, gpus = str(make_tiny_llama(root / "tiny-model")), make_tiny_dataset(root / "data", n=64), 2
    else:
        data = root / "data"
        if not (data / "train.jsonl").is_file():
            done = _cli("prepare", "--source", "sample", "--out", data, env=env)
            if done.returncode:
                print(done.stderr.strip().splitlines()[-1])
                return 2

    from ift_desktop.core.models import ModelSpec
    from ift_desktop.core.training import TrainConfig, run_training
    from ift_desktop.core.training.run_file import RunFile

    config = TrainConfig(max_steps=args.steps, batch_size=args.batch_size, max_length=args.max_length, eval_steps=0,
                         save_steps=0, seed=1, device="cpu" if args.cpu_check else "auto")  # fmt: skip
    run_file = RunFile(config, ModelSpec.parse(model), data).write(root / "launch.json")
    where = "CPU check: the GPU plan run as 2 gloo processes" if args.cpu_check else f"{gpus} GPU(s)"
    print(f"{where}; model {model}; "
          f"global batch {args.batch_size}; {args.steps} steps; torch {torch.__version__}")  # fmt: skip
    results = {}
    for path, processes in plan(gpus):
        name = f"{path} x{processes}"
        out = root / name.replace(" ", "-")
        started = time.monotonic()
        if path == "app":
            run_training(config, data_dir=data, model=ModelSpec.parse(model), out_dir=out)
        else:
            done = _cli("train", "--config", run_file, "--out", out, "--processes", processes, env=env)
            if done.returncode:
                print(f"{name}: failed: {done.stderr.strip().splitlines()[-1]}")
                return 1
        results[name] = throughput(_rows(out), args.batch_size, args.warmup)
        r = results[name]
        print(f"{name:14s} {r['examples_per_s']:9.2f} examples/s {r['tokens_per_s']:11.0f} tokens/s "
              f"({r['steps']} timed steps, {time.monotonic() - started:.0f} s wall)")  # fmt: skip
    failed = 0
    for check, passed, detail in verdicts(results):
        print(f"{'PASS' if passed else 'FAIL'}  {check}: {detail}")
        failed += not passed
    return 1 if failed and not args.cpu_check else 0


if __name__ == "__main__":
    raise SystemExit(main())
