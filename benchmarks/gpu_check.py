"""The training path on a CUDA GPU: ours vs a plain Trainer, LoRA and full, bf16, one table.

    .venv/bin/python benchmarks/gpu_check.py [--steps 30] [--batch-size 8] [--max-length 1024]
    .venv/bin/python benchmarks/gpu_check.py --cpu-logic-check   # the same logic, tiny, on the CPU

Nothing is downloaded: a ~0.5B causal model (Qwen2.5-0.5B's shape: hidden 896, 24 layers, 14 heads,
2 key/value heads, MLP 4864, vocabulary 151,936, tied embeddings) is built from a config with random
weights, with the byte-level tokenizer of tests/tiny_models.py, and trained on synthetic
dialogue-like examples (prompt ~4x the completion, lengths spread like DialogSum's, in bytes).

For each method (LoRA r 16 on all linear layers of the blocks; full fine-tuning), alternating:

- ours: ``run_training`` with the defaults (precision auto = bf16 mixed precision on a GPU with
  bf16, completion-only head, length-grouped batches), no evaluation, no checkpoints;
- plain: ``transformers.Trainer`` (+ ``peft`` for LoRA), ``bf16=True``, ``DataCollatorForSeq2Seq``
  random batches, the full head.

It reports useful (non-padding) tokens/s, MFU (model FLOPs per second / this card's measured bf16
matmul ceiling, benchmarks/flops.py), peak ``torch.cuda.max_memory_allocated`` vs the app's estimate
(``estimate_memory``), and the ratios ours / plain. Goals (issue 14): tokens/s >= 1.5x plain, the
estimate within 15 % of the peak. Takes a few minutes on a current data-centre GPU (< 10 min).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

QWEN05_SHAPE = dict(
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    vocab_size=151936,
    tie_word_embeddings=True,
    max_position_embeddings=4096,
)
TINY_SHAPE = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=384,
    tie_word_embeddings=True,
    max_position_embeddings=1024,
)


def build_model(folder: Path, shape: dict) -> Path:
    import torch
    from tiny_models import _tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(bos_token_id=None, eos_token_id=1, pad_token_id=0, **shape)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder, safe_serialization=True)
    _tokenizer(chat_template=True).save_pretrained(folder)
    return folder


def synthetic_rows(n: int, scale: float, seed: int = 0) -> list[dict]:
    """Dialogue-like pairs; lengths (bytes) spread like DialogSum's (prompt ~800-2400, completion ~100-500)."""
    rng = random.Random(seed)
    words = [
        "person",
        "said",
        "the",
        "meeting",
        "tomorrow",
        "because",
        "they",
        "want",
        "to",
        "buy",
        "a",
        "ticket",
        "and",
        "asks",
        "about",
        "price",
        "#Person1#:",
        "#Person2#:",
        "okay",
        "yes",
        "no",
        "will",
        "call",
    ]
    rows = []
    for _ in range(n):
        prompt_bytes = int(rng.uniform(800, 2400) * scale)
        completion_bytes = int(rng.uniform(100, 500) * scale)

        def text(size):
            out = []
            while sum(len(w) + 1 for w in out) < size:
                out.append(rng.choice(words))
            return " ".join(out)

        rows.append(
            {
                "prompt": "Summarize the following dialogue:\n\n" + text(prompt_bytes),
                "completion": text(completion_bytes),
            }
        )
    return rows


def encode(rows, tokenizer, max_length: int) -> list[dict]:
    from ift_desktop.core.models.formatting import format_for_model

    features = []
    for row in rows:
        text = format_for_model(row["prompt"], row["completion"], tokenizer)
        if len(text.prompt_ids) >= max_length:
            continue
        kept = text.completion_ids[: max_length - len(text.prompt_ids)]
        features.append({"input_ids": text.prompt_ids + kept, "labels": [-100] * len(text.prompt_ids) + kept})
    return features


class Meter:
    """What the batches of one side held: non-padding tokens, sum of squared lengths, positions, trained
    positions. accelerate's loader builds one batch ahead, so ``keep(n)`` drops what came after the first ``n``."""

    def __init__(self):
        self.batches: list[tuple[int, int, int, int]] = []

    def add(self, batch) -> None:
        lengths = batch["attention_mask"].sum(dim=1)
        self.batches.append(
            (
                int(lengths.sum()),
                int((lengths.long() ** 2).sum()),
                int(batch["input_ids"].numel()),
                int((batch["labels"][:, 1:] != -100).sum()),
            )
        )

    def keep(self, n_batches: int) -> None:
        del self.batches[n_batches:]

    def _total(self, column: int) -> int:
        return sum(batch[column] for batch in self.batches)

    tokens = property(lambda self: self._total(0))
    sum_sq = property(lambda self: self._total(1))
    positions = property(lambda self: self._total(2))
    head = property(lambda self: self._total(3))


def matmul_ceiling(device, dtype, n: int) -> float:
    import torch

    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        a @ b
        sync(device)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times)


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def reset_peak(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_memory(device) -> int | None:
    import torch

    return int(torch.cuda.max_memory_allocated()) if device.type == "cuda" else None


def run_ours(args, folder, data_dir, work, method, device, meter) -> dict:
    import ift_desktop.core.training.loop as loop
    from ift_desktop.core.models import ModelSpec
    from ift_desktop.core.training import TrainConfig, run_training
    from ift_desktop.core.training.data import CompletionOnlyCollator

    class MeteredCollator(CompletionOnlyCollator):
        def __call__(self, batch):
            out = super().__call__(batch)
            meter.add(out)
            return out

    config = TrainConfig(
        method=method,
        max_steps=args.steps,
        batch_size=args.batch_size,
        grad_accum=1,  # one batch a step, as plain
        max_length=args.max_length,
        eval_steps=0,
        save_steps=0,
        device=device.type,
        precision="auto" if device.type == "cuda" else "fp32",
    )
    marks: dict[str, float] = {}

    def on_event(event):
        if event.get("type") == "status" and event.get("status") == "started":
            sync(device)
            marks["started"] = time.perf_counter()
        if event.get("type") == "status" and event.get("status") == "saving":
            sync(device)
            marks["trained"] = time.perf_counter()

    original = loop.CompletionOnlyCollator
    loop.CompletionOnlyCollator = MeteredCollator
    reset_peak(device)
    try:
        result = run_training(
            config, data_dir=data_dir, model=ModelSpec.parse(str(folder)), out_dir=work / "ours", on_event=on_event
        )
    finally:
        loop.CompletionOnlyCollator = original
    peak = peak_memory(device)
    record = json.loads((result.run_dir / "run.json").read_text())
    return {
        "seconds": marks["trained"] - marks["started"],
        "peak": peak,
        "steps": result.global_step,
        "loss": result.final_loss,
        "precision": record["device"].get("precision"),
    }


def run_plain(args, folder, features, work, method, device, meter) -> dict:
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        PrinterCallback,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from ift_desktop.core.models.memory import default_lora_targets

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    load_dtype = torch.bfloat16 if bf16 and method == "lora" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=load_dtype).to(device)
    if method == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        model = get_peft_model(
            model,
            LoraConfig(
                r=16,
                lora_alpha=32,
                lora_dropout=0.0,
                target_modules=default_lora_targets(model),
                task_type=TaskType.CAUSAL_LM,
            ),
        )
    base = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)

    def collate(batch):
        out = base(batch)
        meter.add(out)
        return out

    marks: dict[str, float] = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            sync(device)
            marks["started"] = time.perf_counter()

        def on_train_end(self, *a, **k):
            sync(device)
            marks["trained"] = time.perf_counter()

    training_args = TrainingArguments(
        output_dir=str(work / "plain"),
        max_steps=args.steps,
        learning_rate=3e-4 if method == "lora" else 2e-5,
        per_device_train_batch_size=args.batch_size,
        bf16=bf16,
        use_cpu=device.type != "cuda",
        logging_steps=1,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        label_names=["labels"],
        dataloader_num_workers=0,
    )
    reset_peak(device)
    trainer = Trainer(
        model=model,
        args=training_args,
        data_collator=collate,
        train_dataset=features,
        processing_class=tokenizer,
        callbacks=[Clock()],
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    peak = peak_memory(device)
    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    del trainer, model
    return {
        "seconds": marks["trained"] - marks["started"],
        "peak": peak,
        "steps": args.steps,
        "loss": losses[-1] if losses else None,
        "precision": "bf16" if bf16 else "fp32",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--cpu-logic-check",
        action="store_true",
        help="run the same logic on the CPU with a tiny model (no GPU needed; numbers mean nothing)",
    )
    args = parser.parse_args(argv)

    import torch
    import transformers
    from flops import step_flops
    from transformers.utils import logging as hf_logging

    from ift_desktop.core.data.dataset_files import write_dataset
    from ift_desktop.core.models.memory import estimate_memory

    hf_logging.disable_progress_bar()
    if args.cpu_logic_check:
        device, shape, scale = torch.device("cpu"), TINY_SHAPE, 0.1
        args.steps, args.batch_size, args.max_length, args.repeats = 3, 2, 256, 1
    elif torch.cuda.is_available():
        device, shape, scale = torch.device("cuda"), QWEN05_SHAPE, 1.0
    else:
        print("No CUDA GPU here; run with --cpu-logic-check to test the script's logic on the CPU.")
        return 2
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU (logic check)"
    dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    ceiling = matmul_ceiling(device, dtype, 8192 if device.type == "cuda" else 256)
    print(
        f"{name}; torch {torch.__version__}, transformers {transformers.__version__}; "
        f"{str(dtype).replace('torch.', '')} matmul ceiling {ceiling / 1e12:.1f} TFLOP/s",
        flush=True,
    )

    work = Path(tempfile.mkdtemp(prefix="ift-gpu-check-"))
    try:
        folder = build_model(work / "model", shape)
        from transformers import AutoConfig, AutoTokenizer

        config = AutoConfig.from_pretrained(str(folder))
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        rows = synthetic_rows(args.steps * args.batch_size * 2, scale)
        features = encode(rows, tokenizer, args.max_length)
        data_dir = write_dataset(work / "data", {"train": rows}, {"source": "synthetic (gpu_check)"})
        table = []
        for method in ("lora", "full"):
            results: dict[str, list[dict]] = {"ours": [], "plain": []}
            for repeat in range(args.repeats):
                for side in ("ours", "plain"):
                    shutil.rmtree(work / side, ignore_errors=True)
                    meter = Meter()
                    if side == "ours":
                        out = run_ours(args, folder, data_dir, work, method, device, meter)
                    else:
                        out = run_plain(args, folder, features, work, method, device, meter)
                    meter.keep(args.steps)  # one batch a step on both sides
                    flops = step_flops(
                        config,
                        tokens=meter.positions if side == "plain" else meter.tokens,
                        sum_sq_lengths=meter.sum_sq,
                        head_positions=meter.head if side == "ours" else meter.positions,
                        method=method,
                    )
                    out.update(tokens_per_s=meter.tokens / out["seconds"], mfu=flops / out["seconds"] / ceiling)
                    results[side].append(out)
                    peak = f"{out['peak'] / 2**30:.2f} GiB" if out["peak"] else "-"
                    print(
                        f"[{method} {repeat + 1}] {side:5s} {out['seconds']:6.2f} s, {out['tokens_per_s']:9.0f} tokens/s, "
                        f"MFU {out['mfu']:.1%}, peak {peak}, loss {out['loss']}",
                        flush=True,
                    )
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
            ours = results["ours"]
            rate = {s: statistics.median(r["tokens_per_s"] for r in results[s]) for s in results}
            mfu = {s: statistics.median(r["mfu"] for r in results[s]) for s in results}
            estimate = estimate_memory(
                config,
                method=method,
                batch_size=args.batch_size,
                max_length=args.max_length,
                dtype=dtype,
                device_kind=device.type,
            ).total_bytes
            peak = max((r["peak"] or 0) for r in ours)
            table.append(
                (method, rate["ours"], rate["plain"], mfu["ours"], mfu["plain"], peak, estimate, ours[0]["precision"])
            )
        print(
            "\n| method | precision | ours tokens/s | plain tokens/s | ours / plain | MFU ours | MFU plain | "
            "peak GiB (ours) | estimate GiB | estimate / peak |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for method, r_ours, r_plain, m_ours, m_plain, peak, estimate, precision in table:
            ratio = f"{estimate / peak:.2f}" if peak else "-"
            print(
                f"| {method} | {precision} | {r_ours:.0f} | {r_plain:.0f} | {r_ours / r_plain:.2f} | {m_ours:.1%} | "
                f"{m_plain:.1%} | {peak / 2**30:.2f} | {estimate / 2**30:.2f} | {ratio} |"
            )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
