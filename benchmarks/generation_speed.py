"""Batched evaluation generation vs a plain ``model.generate`` loop, on the same prompts in one run.

    .venv/bin/python benchmarks/generation_speed.py [--model builtin] [--n 16] [--batch-size 8]
        [--max-new-tokens 32]

Both sides answer the same DialogSum test prompts with the same model, greedily, with the same
prompt formatting (the chat template as in training) and the same stop tokens:

- plain: one prompt at a time, ``model.generate(input_ids, max_new_tokens=...)`` (what a script
  without batching does);
- ours: :func:`ift_desktop.core.evaluation.generation.generate` (length-sorted batches, left padding,
  KV cache, order restored).

Prints the time of each, the ratio (plain / ours), and how many answers are identical (greedy
decoding with padding can differ in the last bits of floating point, so a few may differ).
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
DIALOGSUM = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.test.jsonl"


def dialogsum_prompts(n: int) -> list[str]:
    rows = [json.loads(line) for line in DIALOGSUM.read_text(encoding="utf-8").splitlines()[:n]]
    return [f"Summarize the following dialogue:\n\n{row['dialogue']}" for row in rows]


def plain_loop(loaded, prompts: list[str], max_new_tokens: int) -> tuple[list[str], float]:
    import torch

    from ift_desktop.core.evaluation.generation import stop_token_ids
    from ift_desktop.core.models import format_for_model

    model, tokenizer = loaded.model, loaded.tokenizer
    stops = stop_token_ids(tokenizer, model)
    texts = []
    start = time.perf_counter()
    for prompt in prompts:
        ids = torch.tensor([format_for_model(prompt, "", tokenizer).prompt_ids])
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=stops,
                pad_token_id=tokenizer.pad_token_id or stops[0],
            )
        texts.append(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True).strip())
    return texts, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="builtin")
    parser.add_argument("--n", type=int, default=8, help="number of prompts")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="alternate plain/ours this many times; best time counts")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args(argv)

    import torch

    from ift_desktop.core.evaluation.generation import GenerationSettings, generate
    from ift_desktop.core.models import ModelSpec, load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = load_model(ModelSpec.parse(args.model))
    prompts = dialogsum_prompts(args.n)
    generate(loaded, prompts[:2], GenerationSettings(max_new_tokens=4), batch_size=2)  # warm-up
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens)
    plain_times, our_times = [], []
    for _ in range(max(1, args.repeats)):  # alternate, so a busy moment on a shared machine hits both sides
        plain_texts, seconds = plain_loop(loaded, prompts, args.max_new_tokens)
        plain_times.append(seconds)
        ours = generate(loaded, prompts, settings, batch_size=args.batch_size)
        our_times.append(ours.seconds)
    plain_s, ours_s = min(plain_times), min(our_times)
    same = sum(a == b for a, b in zip(plain_texts, ours.texts))
    print(
        f"model {args.model}, {len(prompts)} DialogSum prompts, greedy, max_new_tokens {args.max_new_tokens}, "
        f"torch threads {torch.get_num_threads()}"
    )
    tokens = sum(ours.new_tokens)
    print(f"plain model.generate, one prompt at a time: best {plain_s:7.2f} s of {[round(t, 1) for t in plain_times]}")
    print(
        f"ours, batched (batch {args.batch_size}):           best {ours_s:7.2f} s of {[round(t, 1) for t in our_times]}"
        f" ({tokens / ours_s:.1f} new tokens/s)"
    )
    print(f"ratio plain/ours: {plain_s / ours_s:.2f}x; identical answers: {same}/{len(prompts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
