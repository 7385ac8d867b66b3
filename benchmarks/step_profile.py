"""Where a LoRA training step's time goes (torch.profiler), before and after issue 14, and its MFU.

    .venv/bin/python benchmarks/step_profile.py [--max-length 672] [--threads 2] [--seed 0]

On the built-in model with LoRA r 16 / alpha 32 on all linear layers and a batch of 4 DialogSum dev
examples, one warm-up step and then one step under ``torch.profiler`` for each path:

- before (the plain Trainer baseline): a random batch padded to its longest example with its
  attention mask, the full LM head and cross-entropy over every position (``model(**batch).loss``),
  LoRA dropout 0.05 (peft's default in the plain baseline), fp32;
- third session (the default path then): a length-grouped batch (4 examples of similar length from the same
  pool), right-padded without the mask (causal kernel), the head and loss only at the completion
  positions (head_loss.py), no LoRA dropout, fp32 (no native bf16 on this CPU);
- now (today's default path): the same 4 examples as 4 passes of one (nothing padded), their losses
  adding up to the step's as the Trainer's ``num_items_in_batch`` makes them, LoRA on the top half of
  the layers only (``auto_lora_layers`` on a CPU), so the backward pass stops halfway. The FLOP count
  (flops.py) then counts the backward pass of those layers only. ``--now`` adds this path for a
  ``--model`` folder too (the logic check).

The profiler's self CPU time of every op (forward and backward) is put in one bucket: attention
(the attention kernel, softmax and rotary parts, and the q/k/v/o projections: matmuls whose shapes
have only the hidden or key/value widths), MLP (matmuls with the intermediate width, the SiLU and
product), LoRA adapters (matmuls with the rank as a dimension), LM head (matmuls with the vocabulary
width), loss (log-softmax, NLL), optimizer (inside ``Optimizer.step``), other (norms, embeddings,
copies, autograd bookkeeping). Then the model FLOPs of the step (flops.py) per second as a share of
this CPU's measured fp32 matmul ceiling (a 2048² product). For each path it also prints the rate of the
step's own matrix products (their FLOPs from the profiled shapes over their self time) and the MFU the step
would reach if everything else took no time: how far the model's small shapes and the non-matmul work
each keep a step from the ceiling. Prints one table.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
BUCKETS = ("attention", "MLP", "LoRA adapters", "LM head", "loss", "optimizer", "other")


def bucket_of(name: str, shapes, config, rank: int) -> str:
    """The bucket of one op from its name and its input shapes."""
    lowered = name.lower()
    if "scaled_dot_product" in lowered or "softmax" in lowered and "log" not in lowered or "rotary" in lowered:
        return "attention"
    if "log_softmax" in lowered or "nll_loss" in lowered or "cross_entropy" in lowered:
        return "loss"
    if "silu" in lowered:
        return "MLP"
    dims = {d for shape in shapes or [] if isinstance(shape, (list, tuple)) for d in shape}
    if any(key in lowered for key in ("mm", "matmul", "linear", "addmm", "bmm")):
        if config.vocab_size in dims:
            return "LM head"
        if rank in dims:
            return "LoRA adapters"
        if config.intermediate_size in dims:
            return "MLP"
        return "attention"
    if "mul" in lowered and config.intermediate_size in {
        shape[-1] for shape in shapes or [] if isinstance(shape, (list, tuple)) and shape
    }:
        return "MLP"
    return "other"


def single_examples(batch: dict, multiple: int | None = None) -> list[dict]:
    """A right-padded batch as one batch per example (the default path's passes of one), unpadded, or
    padded on the right to a ``multiple`` of tokens as the app's collator does on a bf16 CPU."""
    import torch.nn.functional as F

    fill = {"input_ids": 0, "attention_mask": 0, "labels": -100}  # any id: no real token looks right
    rows = []
    for row, length in enumerate(batch["attention_mask"].sum(dim=1).tolist()):
        extra = -int(length) % multiple if multiple else 0
        rows.append(
            {
                key: F.pad(value[row : row + 1, : int(length)], (0, extra), value=fill.get(key, 0))
                for key, value in batch.items()
            }
        )
    return rows


def profiled_step(
    model, optimizer, batches: list[dict], *, default_path: bool, config, rank: int, bf16: bool = False
) -> tuple[float, dict]:
    """One optimizer step over ``batches`` (one, or the passes of an accumulated step), profiled;
    ``bf16``: the forward passes under CPU bf16 autocast, as the app's Trainer runs them."""
    import contextlib

    import torch
    from torch.profiler import ProfilerActivity, profile

    from ift_desktop.core.training.head_loss import completion_loss

    completion_tokens = sum(int((b["labels"][:, 1:] != -100).sum()) for b in batches)

    def step():
        for batch in batches:  # the loss of the whole step, as the Trainer's num_items_in_batch makes it
            autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
            with autocast:
                if default_path:
                    loss = completion_loss(model, batch, completion_tokens)
                else:
                    loss = model(**batch).loss
            loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        start = time.perf_counter()
        step()
        seconds = time.perf_counter() - start
    buckets = dict.fromkeys(BUCKETS, 0.0)
    events = prof.events()
    optimizer_ranges = [(e.time_range.start, e.time_range.end) for e in events if e.name.startswith("Optimizer.step")]
    for event in events:
        if event.self_cpu_time_total <= 0:
            continue
        start = event.time_range.start
        if any(low <= start <= high for low, high in optimizer_ranges):
            part = "optimizer"
        else:
            part = bucket_of(event.name, event.input_shapes, config, rank)
        buckets[part] += event.self_cpu_time_total / 1e6
    scale = seconds / max(sum(buckets.values()), 1e-9)  # profiler self times add up to ~the step: share it out
    matmul = matmul_work(events)
    return seconds, {part: value * scale for part, value in buckets.items()}, (matmul[0], matmul[1] * scale)


def matmul_work(events) -> tuple[float, float]:
    """The FLOPs of the step's matrix products (mm, addmm, bmm; from their input shapes) and the
    profiler's self time in them, in seconds: the rate the step's own matmul shapes reach."""
    flops = seconds = 0.0
    for event in events:
        shapes = [s for s in event.input_shapes or [] if isinstance(s, (list, tuple))]
        if event.name in ("aten::mm", "aten::addmm") and len(shapes) >= 2:
            (m, k), n = shapes[-2], shapes[-1][-1]
            flops += 2.0 * m * k * n
        elif event.name == "aten::bmm" and len(shapes) == 2:
            (b, m, k), n = shapes[0], shapes[1][-1]
            flops += 2.0 * b * m * k * n
        else:
            continue
        seconds += event.self_cpu_time_total / 1e6
    return flops, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-length", type=int, default=672)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--model", default="builtin", help="a model folder instead of the built-in model (a logic check)"
    )
    parser.add_argument("--now", action="store_true", help="profile today's default path with --model too")
    args = parser.parse_args(argv)

    import torch
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    from flops import step_flops
    from training_levers import load, matmul_ceiling, set_lora_dropout

    from ift_desktop.core.models.device import training_precision

    native_bf16 = training_precision(torch.device("cpu")).dtype == torch.bfloat16
    ceiling = matmul_ceiling(torch.float32)
    ceilings = {"fp32": ceiling, "bf16": matmul_ceiling(torch.bfloat16) if native_bf16 else None}
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, {args.threads} threads; "
        f"fp32 matmul ceiling {ceiling:.1f} GFLOP/s (2048²)"
        + (f", bf16 {ceilings['bf16']:.1f} (native bf16: the app computes in bf16)" if native_bf16 else ""),
        flush=True,
    )
    args.batches = 8
    model, random_batches, grouped_batches = load(args)
    config = model.get_base_model().config
    rng = random.Random(args.seed)
    grouped = rng.choice(grouped_batches)
    paths = [
        ("before (plain Trainer path)", model, [rng.choice(random_batches)], False, None),
        ("third session (batch 4, every layer)", model, [grouped], True, None),
    ]
    if args.model == "builtin" or args.now:
        from lora_model import default_lora

        from ift_desktop.core.models.memory import auto_lora_layers, last_layers

        trained = auto_lora_layers(config, "cpu")
        _, top = default_lora(args.model, layers=last_layers(config, trained))
        title = f"now (4 passes of 1, LoRA on the top {trained} layers)"
        paths.append((title, top, single_examples(grouped), True, trained))
        if native_bf16:  # the app's path on this CPU: bf16 autocast, the frozen base stored in bf16
            _, top_bf16 = default_lora(args.model, layers=last_layers(config, trained), dtype=torch.bfloat16)
            from ift_desktop.core.training.loop import BF16_CPU_LENGTH_MULTIPLE

            padded = single_examples(grouped, BF16_CPU_LENGTH_MULTIPLE)
            paths.append((f"{title}, bf16", top_bf16, padded, True, trained))
    rows = []
    for title, path_model, batches, default_path, trained in paths:
        set_lora_dropout(path_model, not default_path)
        trainable = [p for p in path_model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=0.0)  # same weights
        bf16 = title.endswith("bf16")
        seconds, buckets, (matmul_flops, matmul_seconds) = profiled_step(
            path_model, optimizer, batches, default_path=default_path, config=config, rank=16, bf16=bf16
        )
        useful = positions = head = sum_sq = 0
        for batch in batches:
            lengths = batch["attention_mask"].sum(dim=1).long()
            useful += int(lengths.sum())
            sum_sq += int((lengths**2).sum())
            positions += batch["input_ids"].numel()
            head += int((batch["labels"][:, 1:] != -100).sum())
        # the padded path computes every position; its model FLOPs count the useful tokens only
        flops = step_flops(
            config, tokens=useful, sum_sq_lengths=sum_sq, head_positions=head, method="lora", trained_layers=trained
        )
        padded = batches[0]["input_ids"].shape
        done = step_flops(
            config,
            tokens=useful if default_path else positions,
            sum_sq_lengths=sum_sq if default_path else padded[0] * padded[1] ** 2,
            head_positions=head if default_path else positions,
            method="lora",
            trained_layers=trained,
        )
        longest = max(b["input_ids"].shape[1] for b in batches)
        shape = f"{len(batches)} x 1 x ≤{longest}" if len(batches) > 1 else f"{padded[0]} x {padded[1]}"
        top = ceilings["bf16" if bf16 else "fp32"]
        rows.append((title, shape, useful, seconds, buckets, flops, done, top))
        print(
            f"{title}: batch {shape}, {useful} useful tokens, step {seconds:.2f} s: "
            + ", ".join(f"{k} {v:.2f}" for k, v in buckets.items()),
            flush=True,
        )
        rate = matmul_flops / max(matmul_seconds, 1e-9) / 1e9
        print(
            f"  its matrix products: {matmul_flops / 1e9:.1f} GFLOP in {matmul_seconds:.2f} s = {rate:.1f} GFLOP/s "
            f"({rate / top:.0%} of the ceiling); everything else {seconds - matmul_seconds:.2f} s "
            f"({1 - matmul_seconds / seconds:.0%}). Were the rest free, the step's MFU would be "
            f"{flops / matmul_seconds / 1e9 / top:.0%}",
            flush=True,
        )
    print(
        "\n| path | batch | step s | " + " | ".join(BUCKETS) + " | useful tokens/s | model GFLOP/s (useful) "
        "| share of its precision's ceiling (MFU) | executed GFLOP/s | share |"
    )
    print("|---|---|---|" + "---|" * len(BUCKETS) + "---|---|---|---|---|")
    for title, shape, useful, seconds, buckets, flops, done, top in rows:
        cells = " | ".join(f"{buckets[b]:.2f} ({buckets[b] / seconds:.0%})" for b in BUCKETS)
        print(
            f"| {title} | {shape} | {seconds:.2f} | {cells} | {useful / seconds:.1f} | "
            f"{flops / seconds / 1e9:.1f} | {flops / seconds / 1e9 / top:.0%} | {done / seconds / 1e9:.1f} | "
            f"{done / seconds / 1e9 / top:.0%} |"
        )
    print(
        f"\nmatmul ceilings (2048²): fp32 {ceiling:.1f} GFLOP/s"
        + (f", bf16 {ceilings['bf16']:.1f}" if ceilings["bf16"] else "")
        + " (one profiled step per path, after one warm-up step)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
