"""IFT Desktop's training loop vs a plain transformers ``Trainer`` + peft LoRA, same work, one run.

    .venv/bin/python benchmarks/training_speed.py [--tiny] [--steps 8] [--n 64] [--repeats 2]
        [--batch-size 4] [--max-length 512] [--seed 42]

Both sides fine-tune the same model with a LoRA adapter of the same rank / alpha / target layers on
the same tokenized DialogSum dev examples, at the same seed, with AdamW at the same learning rate
(3e-4), warm-up and linear schedule, gradient clipping 1.0, no evaluation, and end with the adapter
on disk:

- ours: the app's default path, :func:`ift_desktop.core.training.run_training` with
  ``TrainConfig(method="lora", max_steps=N, eval_steps=0, save_steps=0, learning_rate=3e-4)`` on a
  prepared dataset folder: completion-only LM head, length-grouped batches, no LoRA dropout, auto
  precision (plus the event callback, metrics.jsonl, run.json and a resumable checkpoint with the
  optimizer state at the end);
- plain: ``transformers.Trainer`` on the output of ``get_peft_model`` (LoRA dropout 0.05, ``set_seed``
  first, the usual recipe) in fp32, ``DataCollatorForSeq2Seq`` random batches padded on the right, the
  full head, ``save_strategy="no"`` and ``trainer.save_model`` at the end. Its examples are built with
  the same :func:`format_for_model` (chat template, prompt labels -100, cut at max_length).

The two sides alternate (ours, plain, ours, plain, ...) in one process so a busy moment on a shared
machine hits both. For each repetition it prints the wall time of the N steps plus the final save
(model loading, tokenizing and the LoRA wrap are reported separately as "setup"), steps/s,
non-padding tokens/s, the final loss, and at the end the ratio ours/plain of useful tokens/s (median
over repetitions), each side's mean loss over the run and the per-step loss differences (the two sides
see the same examples in different batches, so single steps differ; the means should agree within
the run-to-run noise).
``--tiny`` uses the 2-layer tiny Llama and the short examples of tests/tiny_models.py (a quick
check in seconds; DialogSum dialogues do not fit its byte tokenizer's 256 tokens).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
DIALOGSUM_DEV = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.dev.jsonl"
sys.path.insert(0, str(REPO))


def dialogsum_rows(n: int) -> list[dict]:
    lines = DIALOGSUM_DEV.read_text(encoding="utf-8").splitlines()[:n]
    rows = [json.loads(line) for line in lines]
    return [
        {
            "prompt": f"Summarize the following dialogue:\n\n{row['dialogue']}",
            "completion": row["summary"],
            "id": row.get("fname", str(index)),
        }
        for index, row in enumerate(rows)
    ]


def encode(rows: list[dict], tokenizer, max_length: int) -> list[dict]:
    """Prompt + completion ids with the prompt masked, cut at ``max_length`` (what ours does)."""
    from ift_desktop.core.models.formatting import format_for_model

    features = []
    for row in rows:
        text = format_for_model(row["prompt"], row["completion"], tokenizer)
        if len(text.prompt_ids) >= max_length:
            continue  # nothing left to learn (ours skips these too)
        kept = text.completion_ids[: max_length - len(text.prompt_ids)]
        features.append({"input_ids": text.prompt_ids + kept, "labels": [-100] * len(text.prompt_ids) + kept})
    return features


class Counter:
    """Counts the non-padding tokens of the batches a collator builds, batch by batch: accelerate's
    data loader builds one batch ahead, so ``trained(n)`` counts only the first ``n`` batches."""

    def __init__(self):
        self.batches: list[int] = []

    def add(self, out: dict) -> None:
        self.batches.append(int(out["attention_mask"].sum()))

    def trained(self, n_batches: int) -> int:
        return sum(self.batches[:n_batches])

    def wrap(self, collate):
        def counted(batch):
            out = collate(batch)
            self.add(out)
            return out

        return counted


def run_ours(args, spec, data_dir: Path, work: Path, counter: Counter) -> dict:
    import ift_desktop.core.training.loop as loop
    from ift_desktop.core.training import TrainConfig, run_training
    from ift_desktop.core.training.data import CompletionOnlyCollator

    class CountingCollator(CompletionOnlyCollator):  # measures only; the batch is unchanged
        def __call__(self, batch):
            out = super().__call__(batch)
            counter.add(out)
            return out

    # the default path (completion-only head, length-grouped batches, no LoRA dropout, auto precision) at the
    # plain recipe's learning rate, so the two loss curves are comparable
    # the same examples per optimizer step as plain, split into the app's micro-batches
    micro = args.micro_batch or TrainConfig().batch_size
    config = TrainConfig(
        method="lora",
        max_steps=args.steps,
        batch_size=micro,
        grad_accum=max(1, args.batch_size // micro),
        max_length=args.max_length,
        eval_steps=0,
        save_steps=0,
        seed=args.seed,
        learning_rate=3e-4,
    )
    marks: dict[str, float] = {}

    def on_event(event: dict) -> None:
        if event.get("type") == "status" and event.get("status") == "started":
            marks["started"] = time.perf_counter()

    if args.seed_ours:
        from transformers import set_seed

        set_seed(args.seed)
    original = loop.CompletionOnlyCollator
    loop.CompletionOnlyCollator = CountingCollator
    begin = time.perf_counter()
    try:
        result = run_training(config, data_dir=data_dir, model=spec, out_dir=work / "ours", on_event=on_event)
    finally:
        loop.CompletionOnlyCollator = original
    end = time.perf_counter()
    losses = [row["loss"] for row in result.metrics if row.get("loss") is not None]
    return {
        "setup_s": marks["started"] - begin,
        "train_s": end - marks["started"],
        "steps": result.global_step,
        "losses": losses,
        "tokens": counter.trained(result.global_step * config.grad_accum),
    }


def run_plain(args, folder: Path, features: list[dict], targets: list[str], work: Path, counter: Counter) -> dict:
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        PrinterCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    begin = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    tokenizer.padding_side = "right"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    set_seed(args.seed)
    model = get_peft_model(
        model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=targets, task_type=TaskType.CAUSAL_LM)
    )
    training_args = TrainingArguments(
        output_dir=str(work / "plain"),
        max_steps=args.steps,
        learning_rate=3e-4,
        lr_scheduler_type="linear",
        warmup_steps=0.03,
        weight_decay=0.0,
        per_device_train_batch_size=args.batch_size,
        max_grad_norm=1.0,
        seed=args.seed,
        logging_steps=1,
        eval_strategy="no",
        save_strategy="no",
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        label_names=["labels"],
    )
    collate = counter.wrap(DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100))
    trainer = Trainer(
        model=model, args=training_args, data_collator=collate, train_dataset=features, processing_class=tokenizer
    )
    trainer.remove_callback(PrinterCallback)  # ours does not print raw log dicts either
    started = time.perf_counter()
    trainer.train()
    trainer.save_model(str(work / "plain" / "adapter"))
    end = time.perf_counter()
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    return {
        "setup_s": started - begin,
        "train_s": end - started,
        "steps": int(trainer.state.global_step),
        "losses": losses,
        "tokens": counter.trained(int(trainer.state.global_step)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny 2-layer Llama of tests/tiny_models.py")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--n", type=int, default=64, help="DialogSum dev examples to train on")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument(
        "--micro-batch",
        type=int,
        help="ours: examples per forward pass, accumulated to --batch-size per step (default: the app's batch size)",
    )
    parser.add_argument("--sides", default="ours,plain", help="which sides to run (ours, plain)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--seed-ours",
        action="store_true",
        help="diagnosis: call transformers.set_seed(seed) before run_training (as plain does before "
        "get_peft_model), to see whether the LoRA initialisation explains a loss difference",
    )
    args = parser.parse_args(argv)

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    from ift_desktop.core.data.dataset_files import write_dataset
    from ift_desktop.core.models import ModelSpec, load_model
    from ift_desktop.core.models.memory import default_lora_targets

    work = Path(tempfile.mkdtemp(prefix="ift-training-speed-"))
    try:
        if args.tiny:
            sys.path.insert(0, str(REPO / "tests"))
            from tiny_models import make_tiny_llama, tiny_examples

            folder = make_tiny_llama(work / "tiny-llama", chat_template=True)
            spec = ModelSpec.parse(str(folder))
        else:
            from ift_desktop.core.models.builtin import ensure_builtin_converted

            folder = ensure_builtin_converted()
            spec = ModelSpec.parse("builtin")
        loaded = load_model(spec, for_training=True)
        targets = default_lora_targets(loaded.model)
        rows = tiny_examples(args.n) if args.tiny else dialogsum_rows(args.n)
        features = encode(rows, loaded.tokenizer, args.max_length)
        del loaded
        data_dir = write_dataset(work / "data", {"train": rows}, {"source": "DialogSum dev (benchmark)"})
        print(f"model: {spec.display_name} ({folder}); torch threads {torch.get_num_threads()}")
        print(
            f"data: {len(rows)} {'tiny (tests/tiny_models.py)' if args.tiny else 'DialogSum dev'} examples, {len(features)} fit in max_length {args.max_length}; "
            f"{args.steps} steps of batch {args.batch_size}; LoRA r 16 alpha 32 on {', '.join(targets)}"
        )

        results: dict[str, list[dict]] = {"ours": [], "plain": []}
        for repeat in range(max(1, args.repeats)):
            for side in args.sides.split(","):
                for leftover in ("ours", "plain"):
                    shutil.rmtree(work / leftover, ignore_errors=True)
                counter = Counter()
                if side == "ours":
                    out = run_ours(args, spec, data_dir, work, counter)
                else:
                    out = run_plain(args, folder, features, targets, work, counter)
                results[side].append(out)
                print(
                    f"[{repeat + 1}] {side:5s}: {out['train_s']:7.2f} s for {out['steps']} steps "
                    f"(setup {out['setup_s']:.2f} s), {out['steps'] / out['train_s']:.3f} steps/s, "
                    f"{out['tokens'] / out['train_s']:8.1f} tokens/s ({out['tokens']} tokens), "
                    f"final loss {out['losses'][-1]:.4f}",
                    flush=True,
                )

        def median_rate(side: str) -> float:
            return statistics.median(r["tokens"] / r["train_s"] for r in results[side])

        sides = [side for side in ("ours", "plain") if results[side]]
        for side in sides:
            means = [statistics.mean(r["losses"]) for r in results[side]]
            print(
                f"{side}: median {median_rate(side):.1f} tokens/s; mean loss over the run: "
                + ", ".join(f"{m:.4f}" for m in means)
            )
            print(f"losses {side} run 1: " + " ".join(f"{x:.4f}" for x in results[side][0]["losses"]))
        if len(sides) == 2:
            ratio = median_rate("ours") / median_rate("plain")
            print(
                f"tokens/s ours/plain (median over {len(results['ours'])}): {ratio:.3f} "
                f"(ours {median_rate('ours'):.1f}, plain {median_rate('plain'):.1f})"
            )
        last = len(results["ours"])
        pairs = [("ours run 1 vs plain run 1", "ours", 0, "plain", 0)] if len(sides) == 2 else []
        pairs += [(f"{side} run 1 vs {side} run {last}", side, 0, side, -1) for side in sides]
        for name, side_a, index_a, side_b, index_b in pairs:
            a, b = results[side_a][index_a], results[side_b][index_b]
            if a is b:
                continue  # a single repetition: nothing to compare run 1 with
            diffs = [abs(x - y) for x, y in zip(a["losses"], b["losses"])]
            print(
                f"max |loss difference| per step, {name}: {max(diffs):.2e} over {len(diffs)} steps "
                f"(step 1: {diffs[0]:.2e})"
            )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
