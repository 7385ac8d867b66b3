"""Does ``torch.compile`` pay on the default training path here? Eager against compiled decoder layers.

    .venv/bin/python benchmarks/compile_speed.py [--examples 24] [--max-length 672] [--threads 2] [--precision bf16]

The default path's passes (the built-in model, LoRA r 16 / alpha 32 on the top half of the layers as
``auto_lora_layers`` picks on a CPU, one DialogSum dev example per forward and backward pass, the head and
loss only at the completion positions), with every decoder block compiled by inductor
(``block.compile(dynamic=True)``: one graph per block kind for every length; dynamo still makes three, for the
blocks with and without adapters and for the lowest adapted block, whose input needs no gradient). The same
examples in the same order on both sides, the optimizer at learning rate 0 so both see the same weights; the
sides alternate (``--repeats``), the eager side under ``torch.compiler.set_stance("force_eager")``. Reports
the compile cost (what the first compiled passes took beyond the compiled pace: about a minute with an empty
cache, seconds with a warm one), each side's pace in useful tokens/s, its MFU (model FLOPs of flops.py over
the measured 2048² matmul ceiling of the precision) and the largest difference between their losses. Prints
one table.

``--precision bf16`` runs the app's path on a CPU with native bf16: the frozen base stored in bf16, the
passes under bf16 autocast, each example padded on the right to the multiple ``loop.length_multiple``
gives (labels -100 there). The default is fp32.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
DIALOGSUM_DEV = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.dev.jsonl"


def examples(tokenizer, count: int, max_length: int, multiple: int | None = None) -> list[dict]:
    """``count`` DialogSum dev examples encoded as the app's data step does, each a batch of one, padded
    to a ``multiple`` of tokens by the app's collator where one is given."""
    from ift_desktop.core.training.data import CompletionOnlyCollator, encode_example

    collate = CompletionOnlyCollator(tokenizer.pad_token_id or 0, pad_to_multiple_of=multiple, max_length=max_length)

    rows = [json.loads(line) for line in DIALOGSUM_DEV.read_text(encoding="utf-8").splitlines()[: 2 * count]]
    batches = []
    for row in rows:
        example = {"prompt": f"Summarize the following dialogue:\n\n{row['dialogue']}", "completion": row["summary"]}
        encoded, _ = encode_example(example, tokenizer, is_seq2seq=False, max_length=max_length, use_chat_template=None)
        if encoded:
            batches.append(collate([{key: value for key, value in encoded.items() if key != "length"}]))
        if len(batches) == count:
            break
    return batches


def compiled_blocks(model) -> int:
    """Compile every block of the model's layer stack in place (the classes transformers keeps whole,
    ``_no_split_modules``), dynamic shapes: one graph per block kind for every length; their count."""
    inner = model.get_base_model()
    names = set(inner._no_split_modules or [])
    blocks = [module for module in inner.modules() if type(module).__name__ in names]
    for block in blocks:
        block.compile(dynamic=True)
    return len(blocks)


def passes(model, optimizer, batches: list[dict], dtype) -> tuple[list[float], list[float]]:
    """Seconds and loss of one forward + backward pass per batch, an optimizer step after every 4; the
    forward passes under CPU autocast to ``dtype`` where it is not fp32."""
    import contextlib

    import torch

    from ift_desktop.core.training.head_loss import completion_loss

    seconds, losses = [], []
    for index, batch in enumerate(batches):
        start = time.perf_counter()
        autocast = torch.autocast("cpu", dtype=dtype) if dtype != torch.float32 else contextlib.nullcontext()
        with autocast:
            loss = completion_loss(model, batch)
        loss.backward()
        if index % 4 == 3:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - start)
        losses.append(loss.item())
    return seconds, losses


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=24)
    parser.add_argument("--max-length", type=int, default=672)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--settle", type=int, default=2, help="first passes that carry the compile")
    parser.add_argument("--repeats", type=int, default=2, help="alternating eager / compiled repetitions")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = parser.parse_args(argv)

    import torch
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    from lora_model import default_lora

    from ift_desktop.core.models.loading import load_model_config
    from ift_desktop.core.models.memory import auto_lora_layers, last_layers
    from ift_desktop.core.models.spec import ModelSpec
    from ift_desktop.core.training.loop import length_multiple

    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    config = load_model_config(ModelSpec.parse("builtin"))
    trained = auto_lora_layers(config, "cpu")
    loaded, model = default_lora("builtin", layers=last_layers(config, trained), dtype=dtype)
    model.train()
    multiple = length_multiple(torch.device("cpu"), dtype)
    batches = examples(loaded.tokenizer, args.examples, args.max_length, multiple)
    tokens = [int(b["attention_mask"].sum()) for b in batches]  # useful tokens: the padding not counted
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.0)
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, {args.threads} threads; "
        f"{len(batches)} examples of {min(tokens)}-{max(tokens)} tokens, LoRA on the top {trained} layers, "
        f"{args.precision}, padded to a multiple of {multiple or 1}",
        flush=True,
    )

    from flops import step_flops
    from training_levers import matmul_ceiling

    def uncompiled():
        return torch.compiler.set_stance("force_eager")

    with uncompiled():
        passes(model, optimizer, batches[:2], dtype)  # eager warm-up
    start = time.perf_counter()
    blocks = compiled_blocks(model)
    print(f"{blocks} decoder blocks compiled (wrapping {time.perf_counter() - start:.2f} s)", flush=True)
    first_s, compiled_loss = passes(model, optimizer, batches, dtype)
    print(f"compiled, first time: {sum(first_s):.1f} s", flush=True)
    eager_s, compiled_s, eager_loss = [0.0] * len(batches), [0.0] * len(batches), []
    for repeat in range(args.repeats):  # alternating, so a busy moment of the machine hits both sides
        with uncompiled():
            seconds, eager_loss = passes(model, optimizer, batches, dtype)
        eager_s = [a + b for a, b in zip(eager_s, seconds)]
        seconds, _ = passes(model, optimizer, batches, dtype)
        compiled_s = [a + b for a, b in zip(compiled_s, seconds)]
        print(f"repeat {repeat + 1}: eager {sum(eager_s):.1f} s, compiled {sum(compiled_s):.1f} s (so far)", flush=True)
    eager_s = [value / args.repeats for value in eager_s]
    compiled_s = [value / args.repeats for value in compiled_s]

    flops = sum(
        step_flops(
            config,
            tokens=length,
            sum_sq_lengths=length**2,
            head_positions=int((b["labels"][:, 1:] != -100).sum()),
            method="lora",
            trained_layers=trained,
        )
        for b, length in zip(batches, tokens)
    )
    ceiling = matmul_ceiling(dtype) * 1e9  # it returns GFLOP/s
    settle = args.settle
    eager_pace, compiled_pace = sum(tokens) / sum(eager_s), sum(tokens) / sum(compiled_s)
    warm_cost = sum(first_s[:settle]) - sum(compiled_s[:settle])
    diff = max(abs(a - b) for a, b in zip(eager_loss, compiled_loss, strict=True))
    print(f"\nmatmul ceiling ({args.precision}, 2048², {args.threads} threads): {ceiling / 1e9:.1f} GFLOP/s")
    print("| side | useful tokens/s | ratio | MFU | compile cost s (first passes) | largest loss difference |")
    print("|---|---|---|---|---|---|")
    print(f"| eager | {eager_pace:.1f} | 1.00x | {flops / sum(eager_s) / ceiling:.0%} | — | — |")
    print(
        f"| compiled layers | {compiled_pace:.1f} | {compiled_pace / eager_pace:.2f}x | "
        f"{flops / sum(compiled_s) / ceiling:.0%} | {warm_cost:.1f} | {diff:.2e} |"
    )
    print("per pass (s), eager / compiled: " + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(eager_s, compiled_s)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
