"""Does ``torch.compile`` pay on the default training path here? Eager against compiled decoder layers.

    .venv/bin/python benchmarks/compile_speed.py [--examples 24] [--max-length 672] [--threads 2]

The default path's passes (the built-in model, LoRA r 16 / alpha 32 on the top half of the layers
as ``auto_lora_layers`` picks on a CPU, one DialogSum dev example per forward and backward pass, the
head and loss only at the completion positions) run first eager, then with every decoder layer
compiled by inductor (``layer.compile(dynamic=True)``: one graph per layer, reused for every length,
so the compile cost is paid once, not once per example length). The same examples in the same order
on both sides, the optimizer at learning rate 0 so both see the same weights. Reports the compile
cost (the first passes, until the compiled side's pace settles), the steady pace of each side in
useful tokens/s, and the largest difference between their losses. Prints one table.
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


def examples(tokenizer, count: int, max_length: int) -> list[dict]:
    """``count`` DialogSum dev examples encoded as the app's data step does, each a batch of one."""
    import torch

    from ift_desktop.core.training.data import encode_example

    rows = [json.loads(line) for line in DIALOGSUM_DEV.read_text(encoding="utf-8").splitlines()[: 2 * count]]
    batches = []
    for row in rows:
        example = {"prompt": f"Summarize the following dialogue:\n\n{row['dialogue']}", "completion": row["summary"]}
        encoded, _ = encode_example(example, tokenizer, is_seq2seq=False, max_length=max_length, use_chat_template=None)
        if encoded:
            batches.append({key: torch.tensor([value]) for key, value in encoded.items() if key != "length"})
        if len(batches) == count:
            break
    return batches


def passes(model, optimizer, batches: list[dict]) -> tuple[list[float], list[float]]:
    """Seconds and loss of one forward + backward pass per batch, an optimizer step after every 4."""
    from ift_desktop.core.training.head_loss import completion_loss

    seconds, losses = [], []
    for index, batch in enumerate(batches):
        start = time.perf_counter()
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
    parser.add_argument("--settle", type=int, default=8, help="passes counted as the compiled side's warm-up")
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

    config = load_model_config(ModelSpec.parse("builtin"))
    trained = auto_lora_layers(config, "cpu")
    loaded, model = default_lora("builtin", layers=last_layers(config, trained))
    model.train()
    batches = examples(loaded.tokenizer, args.examples, args.max_length)
    tokens = [int(b["input_ids"].shape[1]) for b in batches]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.0)
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, {args.threads} threads; "
        f"{len(batches)} examples of {min(tokens)}-{max(tokens)} tokens, LoRA on the top {trained} layers",
        flush=True,
    )

    passes(model, optimizer, batches[:2])  # eager warm-up
    eager_s, eager_loss = passes(model, optimizer, batches)
    print(f"eager: {sum(eager_s):.1f} s", flush=True)

    start = time.perf_counter()
    for layer in model.get_base_model().model.layers:
        layer.compile(dynamic=True)
    compiled_s, compiled_loss = passes(model, optimizer, batches)
    print(f"compiled: {sum(compiled_s):.1f} s (wrapping {time.perf_counter() - start - sum(compiled_s):.2f} s)")

    settle = args.settle
    steady = slice(settle, None)
    eager_pace = sum(tokens[steady]) / sum(eager_s[steady])
    compiled_pace = sum(tokens[steady]) / sum(compiled_s[steady])
    warm_cost = sum(compiled_s[:settle]) - sum(eager_s[:settle])
    diff = max(abs(a - b) for a, b in zip(eager_loss, compiled_loss, strict=True))
    print("\n| side | first passes s | steady useful tokens/s | ratio | compile cost s | largest loss difference |")
    print("|---|---|---|---|---|---|")
    print(f"| eager | {sum(eager_s[:settle]):.1f} | {eager_pace:.1f} | 1.00x | — | — |")
    print(
        f"| compiled layers | {sum(compiled_s[:settle]):.1f} | {compiled_pace:.1f} | "
        f"{compiled_pace / eager_pace:.2f}x | {warm_cost:.1f} | {diff:.2e} |"
    )
    print("per pass (s), eager / compiled: " + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(eager_s, compiled_s)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
