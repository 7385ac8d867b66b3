"""Does a bf16 run learn like an fp32 run? The app's own path, the same data and seed, both precisions.

    .venv/bin/python benchmarks/precision_curve.py [--work /tmp/ift-precision-curve] [--steps 24]
        [--eval-steps 8] [--data DIR]

Through the real command line (``python -m ift_desktop train``), on DialogSum dev prepared with the
wizard's defaults (``--test 0``), LoRA with every default but ``--max-steps`` and ``--eval-steps``:

1. ``--precision fp32``, seed 42: the reference curve;
2. ``--precision bf16``, seed 42: the same examples in the same order (bf16 autocast, the frozen base stored in
   bf16, the adapters and their optimizer in fp32);
3. ``--precision fp32``, seed 43: the noise, another run of the same recipe (other examples, other adapter start).

Prints per-step training losses, the validation losses, the mean absolute difference of the training loss
bf16-vs-fp32 (same seed) and of the smoothed curves (a 4-step moving mean), against the same for seed 43-vs-42,
the final validation losses, and each run's useful tokens/s (the run's own ``tokens_per_s``, median over
its steps after the first) and wall time. bf16 "within noise" means: its difference from fp32 is below the
seed-to-seed difference. On a CPU without native bf16 the bf16 run is emulated and slow (a logic check only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIALOGSUM = REPO.parent / "shared" / "data" / "dialogsum"


def cli(*args: str) -> None:
    print("$ ift-desktop " + " ".join(args), flush=True)
    done = subprocess.run([sys.executable, "-m", "ift_desktop", *args], env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        raise SystemExit(f"ift-desktop {args[0]} failed with status {done.returncode}")


def read_metrics(run: Path) -> tuple[dict[int, float], dict[int, float], list[float]]:
    losses, evals, speeds = {}, {}, []
    for line in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("loss") is not None:
            losses[int(row["step"])] = float(row["loss"])
            if row.get("tokens_per_s") and int(row["step"]) > 1:
                speeds.append(float(row["tokens_per_s"]))
        if row.get("eval_loss") is not None:
            evals[int(row["step"])] = float(row["eval_loss"])
    return losses, evals, speeds


def smoothed(values: list[float], width: int = 4) -> list[float]:
    return [statistics.fmean(values[max(0, i - width + 1) : i + 1]) for i in range(len(values))]


def mean_abs(a: list[float], b: list[float]) -> float:
    return statistics.fmean(abs(x - y) for x, y in zip(a, b, strict=True))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/ift-precision-curve")
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--eval-steps", type=int, default=8)
    parser.add_argument("--data", help="a prepared dataset folder (default: DialogSum dev, prepared here)")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = Path(args.data) if args.data else work / "dev"
    if not (data / "manifest.json").exists():
        cli(
            "prepare", "--source", str(DIALOGSUM / "dialogsum.dev.jsonl"), "--task", "summarization",
            "--map", "document=dialogue", "--map", "summary=summary", "--test", "0", "--out", str(data),
        )  # fmt: skip
    runs = {"fp32 seed 42": ("fp32", 42), "bf16 seed 42": ("bf16", 42), "fp32 seed 43": ("fp32", 43)}
    results = {}
    for name, (precision, seed) in runs.items():
        out = work / name.replace(" ", "-")
        if not (out / "run.json").exists():
            started = time.perf_counter()
            cli(
                "train", "--data", str(data), "--model", "builtin", "--max-steps", str(args.steps),
                "--eval-steps", str(args.eval_steps), "--precision", precision, "--seed", str(seed), "--out", str(out),
            )  # fmt: skip
            (out / "wall_s.txt").write_text(f"{time.perf_counter() - started:.1f}")
        losses, evals, speeds = read_metrics(out)
        wall = float((out / "wall_s.txt").read_text()) if (out / "wall_s.txt").exists() else float("nan")
        results[name] = (losses, evals, speeds, wall)

    steps = sorted(results["fp32 seed 42"][0])
    curve = {name: [results[name][0][s] for s in steps] for name in runs}
    print("\n| step | " + " | ".join(runs) + " |")
    print("|---|" + "---|" * len(runs))
    for i, step in enumerate(steps):
        print(f"| {step} | " + " | ".join(f"{curve[name][i]:.4f}" for name in runs) + " |")
    print("\n| run | validation losses (step: loss) | useful tokens/s (median) | wall s |")
    print("|---|---|---|---|")
    for name, (_, evals, speeds, wall) in results.items():
        ev = ", ".join(f"{s}: {v:.4f}" for s, v in sorted(evals.items()))
        print(f"| {name} | {ev} | {statistics.median(speeds):.1f} | {wall:.0f} |")
    ref, low, other = curve["fp32 seed 42"], curve["bf16 seed 42"], curve["fp32 seed 43"]
    print(
        f"\nmean |loss difference| per step: bf16 vs fp32 (same seed) {mean_abs(low, ref):.4f}; "
        f"fp32 seed 43 vs 42 (the noise) {mean_abs(other, ref):.4f}"
    )
    print(
        f"smoothed (4-step mean): bf16 vs fp32 {mean_abs(smoothed(low), smoothed(ref)):.4f}; "
        f"seed 43 vs 42 {mean_abs(smoothed(other), smoothed(ref)):.4f}"
    )
    speed = {name: statistics.median(results[name][2]) for name in runs}
    print(f"useful tokens/s bf16 / fp32 (same seed): {speed['bf16 seed 42'] / speed['fp32 seed 42']:.2f}x")
    within = mean_abs(low, ref) < mean_abs(other, ref)
    print(f"bf16 within the seed-to-seed noise of fp32: {'yes' if within else 'NO'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
