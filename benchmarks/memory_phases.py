"""Where the peak RSS of a LoRA training step on the built-in model goes, and what cuts it.

    .venv/bin/python benchmarks/memory_phases.py [--variants plain,ckpt,arena2,trim] [--steps 2]
        [--batch 4] [--max-length 672]

Each variant runs in a fresh process the app's own step (LoRA r 16 / alpha 32 on all linear layers,
no dropout, completion-only head and loss of core/training/head_loss.py, AdamW) on the longest
``--batch`` DialogSum dev examples cut at ``--max-length`` (the default run's first and largest
batch: length-grouped batches put it first), ``--steps`` times:

- the resident memory (RSS, psutil) after each phase (imports, model + adapters loaded, forward,
  backward, optimizer step) and the highest RSS inside each phase (a 5 ms sampler thread);
- the tensors the forward pass keeps for the backward pass (``saved_tensors_hooks``; weights left
  out, each storage counted once), by the part of the model that saved them (attention, MLP,
  norms, LoRA adapters, embeddings, output head and loss);
- seconds per step.

Variants: ``plain`` (the default path), ``ckpt`` (gradient checkpointing, non-reentrant),
``arena2`` (glibc ``MALLOC_ARENA_MAX=2``), ``trim`` (``malloc_trim(0)`` after every step), ``mmap``
(glibc ``MALLOC_MMAP_THRESHOLD_=65536``: a fixed threshold, so every large tensor is its own mapping,
returned to the system when freed, instead of glibc raising the threshold after the first frees and
keeping freed tensors in its heap), ``mmap4m`` (the same at 4 MiB: only the per-layer activations are
mappings), ``thp`` (torch's ``THP_MEM_ALLOC_ENABLE=1``: tensors over 2 MiB on transparent huge pages, 512x
fewer page faults), ``app`` (what ``run_training`` sets when lean, core/training/allocator.py), ``half`` (adapters on the top
half of the layers only: the backward pass stops below them). Join them with ``+``
(``ckpt+app``).
Prints each variant's phases and one table at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DIALOGSUM_DEV = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.dev.jsonl"
GIB = 2**30


class PeakSampler:
    """The highest RSS seen since the last ``take()`` (sampled every 5 ms on a thread)."""

    def __init__(self):
        import psutil

        self.process = psutil.Process()
        self.peak = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def rss(self) -> int:
        return self.process.memory_info().rss

    def take(self) -> int:
        peak, self.peak = max(self.peak, self.rss()), self.rss()
        return peak


VARIANT_ENV = {
    "arena2": {"MALLOC_ARENA_MAX": "2"},
    "mmap": {"MALLOC_MMAP_THRESHOLD_": "65536"},
    "mmap4m": {"MALLOC_MMAP_THRESHOLD_": str(4 * 2**20)},
    "thp": {"THP_MEM_ALLOC_ENABLE": "1"},
}


def category(name: str) -> str:
    for key, label in (
        ("lora_", "lora adapters"),
        ("self_attn", "attention"),
        ("mlp", "mlp"),
        ("norm", "norms"),
        ("embed", "embeddings"),
        ("lm_head", "head + loss"),
    ):
        if key in name:
            return label
    return "head + loss"  # outside every module: the completion-only head's gather and the cross-entropy


def saved_tensor_bytes(model, run_forward):
    """Bytes of the tensors the forward keeps for the backward, by part of the model (weights left out)."""
    import torch

    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    stack: list[str] = []
    seen: dict[int, tuple[int, str]] = {}

    def pre(name):
        return lambda module, args: stack.append(name)

    def post(module, args, output):
        stack.pop()

    handles = []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_pre_hook(pre(name)))
            handles.append(module.register_forward_hook(post))

    def pack(tensor):
        storage = tensor.untyped_storage()
        pointer = storage.data_ptr()
        if pointer not in weights and pointer not in seen:
            seen[pointer] = (storage.nbytes(), category(stack[-1] if stack else ""))
        return tensor

    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            loss = run_forward()
    finally:
        for handle in handles:
            handle.remove()
    parts: dict[str, int] = {}
    for size, part in seen.values():
        parts[part] = parts.get(part, 0) + size
    return loss, parts


def longest_batch(tokenizer, batch: int, max_length: int):
    from ift_desktop.core.training.data import CompletionOnlyCollator, encode_example

    features = []
    for line in DIALOGSUM_DEV.read_text(encoding="utf-8").splitlines()[:450]:
        row = json.loads(line)
        example = {"prompt": f"Summarize the following dialogue:\n\n{row['dialogue']}", "completion": row["summary"]}
        encoded, _ = encode_example(example, tokenizer, is_seq2seq=False, max_length=max_length, use_chat_template=None)
        if encoded:
            features.append(encoded)
    features.sort(key=lambda f: len(f["input_ids"]), reverse=True)
    return CompletionOnlyCollator(tokenizer.pad_token_id)(features[:batch])


def _top_half(model: str) -> list[int]:
    from ift_desktop.core.models import ModelSpec, load_model_config
    from ift_desktop.core.models.memory import last_layers, layer_count

    config = load_model_config(ModelSpec.parse(model))
    return last_layers(config, layer_count(config) // 2)


def child(args) -> None:
    sampler = PeakSampler()
    import torch

    torch.set_num_threads(args.threads)

    from ift_desktop.core.training.head_loss import completion_loss

    phases = {"imports": (sampler.rss(), sampler.take())}
    from lora_model import default_lora

    half = "half" in args.variant.split("+")
    loaded, model = default_lora(args.model, layers=_top_half(args.model) if half else None)
    if "app" in args.variant.split("+"):
        from ift_desktop.core.training.allocator import return_freed_memory

        return_freed_memory()
    if "ckpt" in args.variant.split("+"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.train()
    batch = longest_batch(loaded.tokenizer, args.batch, args.max_length)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    phases["model + adapters + batch"] = (sampler.rss(), sampler.take())
    trim = None
    if "trim" in args.variant.split("+"):
        import ctypes

        trim = ctypes.CDLL("libc.so.6").malloc_trim
    seconds, saved = [], {}
    for index in range(args.steps):
        start = time.perf_counter()
        loss, saved = saved_tensor_bytes(model, lambda: completion_loss(model, batch))
        phases[f"step {index + 1} forward"] = (sampler.rss(), sampler.take())
        loss.backward()
        phases[f"step {index + 1} backward"] = (sampler.rss(), sampler.take())
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        del loss
        if trim is not None:
            trim(0)
        phases[f"step {index + 1} optimizer"] = (sampler.rss(), sampler.take())
        seconds.append(time.perf_counter() - start)
    print(
        "RESULT "
        + json.dumps(
            {
                "variant": args.variant,
                "shape": list(batch["input_ids"].shape),
                "tokens": int(batch["attention_mask"].sum()),
                "phases": phases,
                "saved": saved,
                "seconds": seconds,
                "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            }
        )
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="plain,ckpt,arena2,trim,mmap")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=672)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--model", default="builtin", help="a model folder instead of the built-in model (a logic check)"
    )
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        child(args)
        return 0
    rows = []
    for variant in args.variants.split(","):
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        for part in variant.split("+"):
            env.update(VARIANT_ENV.get(part, {}))
        command = [
            sys.executable,
            __file__,
            "--variant",
            variant,
            "--steps",
            str(args.steps),
            "--batch",
            str(args.batch),
            "--max-length",
            str(args.max_length),
            "--threads",
            str(args.threads),
            "--model",
            args.model,
        ]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            print(f"{variant} failed:\n{done.stderr[-3000:]}")
            return 1
        result = json.loads(lines[-1][len("RESULT ") :])
        rows.append(result)
        print(
            f"\n{variant}: batch {result['shape'][0]} x {result['shape'][1]} ({result['tokens']} real tokens), "
            f"seconds per step {', '.join(f'{s:.1f}' for s in result['seconds'])}, "
            f"peak RSS {result['ru_maxrss'] / GIB:.2f} GiB"
        )
        for phase, (after, peak) in result["phases"].items():
            print(f"  {phase:26} RSS after {after / GIB:5.2f} GiB, highest within {peak / GIB:5.2f} GiB")
        total = sum(result["saved"].values())
        print(
            f"  kept for the backward pass: {total / GIB:.2f} GiB = "
            + ", ".join(
                f"{part} {size / GIB:.2f}" for part, size in sorted(result["saved"].items(), key=lambda kv: -kv[1])
            )
        )
    print("\n| variant | batch x length | s / step (last) | peak RSS GiB | saved for backward GiB |")
    print("|---|---|---|---|---|")
    for result in rows:
        print(
            f"| {result['variant']} | {result['shape'][0]} x {result['shape'][1]} | {result['seconds'][-1]:.1f} | "
            f"{result['ru_maxrss'] / GIB:.2f} | {sum(result['saved'].values()) / GIB:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
