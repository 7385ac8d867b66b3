"""The acceptance measurement of the evaluation issue: does the app's default LoRA lift ROUGE on DialogSum?

    .venv/bin/python benchmarks/dialogsum_lora.py [--work /tmp/ift-dialogsum-lora] [--steps 0]
        [--n-test 40] [--max-new-tokens 60]

Headless through the real command line (``python -m ift_desktop ...``), nothing else:

1. ``prepare`` DialogSum dev (500 dialogues, one summary each) as the training data (``--test 0``,
   the default validation share);
2. ``prepare`` ``--n-test`` held-out DialogSum test dialogues with their three references
   (``--map summary=summary1,summary2,summary3``);
3. ``train --data DEV --model builtin --out RUN``: the default run, every setting the app's default
   (what Start with nothing changed does); ``--steps N`` adds ``--max-steps N`` (the earlier
   60-step acceptance run), ``--train-arg ARG`` (repeated) adds a flag of a variant; the training
   process's peak RSS is printed too;
4. ``evaluate`` the built-in base model and the trained run on the same test dialogues (greedy,
   ``--max-new-tokens`` new tokens, stemming on, best of three references);
5. print ROUGE-1 and ROUGE-L, base vs tuned, and the gain; the acceptance bars are +10 ROUGE-L points
   (evaluation issue) and, for the default run, ROUGE-L >= 0.38 in at most 10 minutes of training
   (issue 14).

Takes ~11-15 minutes on two CPU cores. ``--reuse`` skips the steps whose output already exists.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIALOGSUM = REPO.parent / "shared" / "data" / "dialogsum"
GOAL_POINTS = 10.0


def cli(*args: str) -> float:
    """Run ``ift-desktop ARGS`` as a user would; stop the benchmark on failure. Returns seconds."""
    command = [sys.executable, "-m", "ift_desktop", *args]
    print("$ ift-desktop " + " ".join(args), flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"ift-desktop {args[0]} failed with status {done.returncode}")
    print(f"  ({seconds:.0f} s)", flush=True)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/ift-dialogsum-lora", help="folder for datasets, run and results")
    parser.add_argument("--steps", type=int, default=0, help="0 = the default run (no --max-steps)")
    parser.add_argument("--n-test", type=int, default=40)
    parser.add_argument("--max-new-tokens", type=int, default=60)
    parser.add_argument("--reuse", action="store_true", help="skip steps whose output already exists")
    parser.add_argument(
        "--train-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra `train` argument (repeat it; --train-arg=--lora-r --train-arg=8): a variant of the default",
    )
    args = parser.parse_args(argv)

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    train_data, test_data, run = work / "dev", work / "test", work / "run"
    base_json, tuned_json = work / "eval-base.json", work / "eval-tuned.json"
    times = {}

    def needed(path: Path) -> bool:
        return not (args.reuse and path.exists())

    if needed(train_data / "manifest.json"):
        times["prepare dev"] = cli(
            "prepare",
            "--source",
            str(DIALOGSUM / "dialogsum.dev.jsonl"),
            "--task",
            "summarization",
            "--map",
            "document=dialogue",
            "--map",
            "summary=summary",
            "--test",
            "0",
            "--out",
            str(train_data),
        )
    if needed(test_data / "manifest.json"):
        # n+1 rows: prepare keeps at least one training example; the n test dialogues are held out
        times["prepare test"] = cli(
            "prepare",
            "--source",
            str(DIALOGSUM / "dialogsum.test.jsonl"),
            "--task",
            "summarization",
            "--map",
            "document=dialogue",
            "--map",
            "summary=summary1,summary2,summary3",
            "--limit",
            str(args.n_test + 1),
            "--val",
            "0",
            "--test",
            str(args.n_test),
            "--out",
            str(test_data),
        )
    peak_rss = None
    if needed(run / "adapter"):
        steps = ["--method", "lora", "--max-steps", str(args.steps)] if args.steps else []
        extra = [*steps, *args.train_arg]
        times["train"] = cli("train", "--data", str(train_data), "--model", "builtin", *extra, "--out", str(run))
        # the largest child so far: the prepare runs are far smaller than the training process
        peak_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    generation = ["--max-new-tokens", str(args.max_new_tokens)]
    if needed(base_json):
        times["evaluate base"] = cli(
            "evaluate", "--model", "builtin", "--data", str(test_data), *generation, "--out", str(base_json)
        )
    if needed(tuned_json):
        times["evaluate tuned"] = cli(
            "evaluate", "--run", str(run), "--data", str(test_data), *generation, "--out", str(tuned_json)
        )

    base = json.loads(base_json.read_text(encoding="utf-8"))
    tuned = json.loads(tuned_json.read_text(encoding="utf-8"))
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    print()
    print(
        f"DialogSum, {len(base['examples'])} test dialogues, best of three references, stemming on, greedy, "
        f"{args.max_new_tokens} new tokens"
    )
    steps = record.get("global_step")
    what = f"{args.steps} steps" if args.steps else f"the default run ({steps} steps)"
    print(f"LoRA run: {what} with the app's defaults ({_config_line(record)})")
    print(
        f"training time (run.json elapsed_s): {record.get('elapsed_s')} s"
        + (f"; training process peak RSS {peak_rss / 2**30:.2f} GiB" if peak_rss else "")
    )
    summary = {
        "steps": steps,
        "n_test": len(base["examples"]),
        "times_s": times,
        "peak_rss_bytes": peak_rss,
        "train_elapsed_s": record.get("elapsed_s"),
    }
    for key, label in (
        ("rouge1", "ROUGE-1"),
        ("rouge2", "ROUGE-2"),
        ("rougeL", "ROUGE-L"),
        ("rougeLsum", "ROUGE-Lsum"),
    ):
        b, t = base["corpus"][key]["fmeasure"], tuned["corpus"][key]["fmeasure"]
        summary[key] = {"base": b, "tuned": t, "gain_points": 100 * (t - b)}
        print(f"{label:10} base {b:.3f}  tuned {t:.3f}  gain {100 * (t - b):+.1f} points")
    gain = summary["rougeL"]["gain_points"]
    verdict = "PASS" if gain >= GOAL_POINTS else "FAIL"
    print(f"acceptance: ROUGE-L gain {gain:+.1f} points (goal +{GOAL_POINTS:.0f}): {verdict}")
    if times:
        print("times: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))
    summary["verdict"] = verdict
    (work / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return 0 if verdict == "PASS" else 1


def _config_line(record: dict) -> str:
    config = record.get("config") or {}
    keys = (
        "lora_r",
        "lora_alpha",
        "lora_dropout",
        "learning_rate",
        "batch_size",
        "grad_accum",
        "max_length",
        "lr_schedule",
        "epochs",
        "max_steps",
        "precision",
    )
    return ", ".join(f"{k} {config[k]}" for k in keys if k in config)


if __name__ == "__main__":
    sys.exit(main())
