"""Packing vs length-grouped batches: useful tokens/s of the app's step on the same examples.

    .venv/bin/python benchmarks/packing_speed.py [--examples 24] [--repeats 2] [--max-length 672]

The built-in model with the default LoRA (r 16 / alpha 32, all linear layers, no dropout), fp32, the
completion-only head and loss (head_loss.py), AdamW at lr 0 (the weights stay the same, so every
pass sees the same model), 2 threads. The same ``--examples`` DialogSum dev examples (from a fixed
random draw), in batches of 4 examples either

- grouped: sorted by length, 4 neighbours per batch, right-padded (CompletionOnlyCollator), or
- packed: the same 4 examples per batch packed into rows of at most ``--max-length`` tokens with
  restarting positions and the block-diagonal mask (packing.py),

alternating, ``--repeats`` passes each; prints seconds, useful (non-padding) tokens/s and the mean
loss of every pass, then the medians and the packed / grouped ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DIALOGSUM_DEV = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.dev.jsonl"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=672)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--model", default="builtin", help="a model folder instead of the built-in model (a logic check)"
    )
    args = parser.parse_args(argv)

    import torch
    from transformers.utils import logging as hf_logging

    from ift_desktop.core.training.data import CompletionOnlyCollator, encode_example
    from ift_desktop.core.training.head_loss import completion_loss
    from ift_desktop.core.training.packing import PackingCollator

    hf_logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    from lora_model import default_lora

    loaded, model = default_lora(args.model)
    model.train()
    rows = [json.loads(line) for line in DIALOGSUM_DEV.read_text(encoding="utf-8").splitlines()[:450]]
    random.Random(0).shuffle(rows)
    features = []
    for row in rows:
        example = {"prompt": f"Summarize the following dialogue:\n\n{row['dialogue']}", "completion": row["summary"]}
        encoded, _ = encode_example(
            example, loaded.tokenizer, is_seq2seq=False, max_length=args.max_length, use_chat_template=None
        )
        if encoded:
            features.append(encoded)
        if len(features) == args.examples:
            break
    ordered = sorted(features, key=lambda f: len(f["input_ids"]))
    groups = [ordered[i : i + 4] for i in range(0, len(ordered), 4)]
    pad = loaded.tokenizer.pad_token_id
    batches = {
        "grouped": [CompletionOnlyCollator(pad)(g) for g in groups],
        "packed": [PackingCollator(pad, args.max_length)(g) for g in groups],
    }
    useful = sum(len(f["input_ids"]) for f in features)
    for name, made in batches.items():
        positions = sum(b["input_ids"].numel() for b in made)
        print(
            f"{name}: {len(made)} batches, {positions} positions for {useful} useful tokens "
            f"({useful / positions:.0%}), row shapes " + ", ".join(f"{tuple(b['input_ids'].shape)}" for b in made),
            flush=True,
        )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.0)

    def one_pass(made) -> tuple[float, float]:
        losses = []
        start = time.perf_counter()
        for batch in made:
            loss = completion_loss(model, batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss))
        return time.perf_counter() - start, statistics.mean(losses)

    one_pass(batches["grouped"][:1])  # warm-up
    times: dict[str, list[float]] = {name: [] for name in batches}
    for repeat in range(args.repeats):
        for name, made in batches.items():
            seconds, loss = one_pass(made)
            times[name].append(seconds)
            print(
                f"[{repeat + 1}] {name:8} {seconds:7.2f} s, {useful / seconds:6.1f} useful tokens/s, "
                f"mean loss {loss:.4f}",
                flush=True,
            )
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, seconds in medians.items():
        print(f"median {name}: {seconds:.2f} s, {useful / seconds:.1f} useful tokens/s")
    print(f"packed / grouped useful tokens/s: {medians['grouped'] / medians['packed']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
