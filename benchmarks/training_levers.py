"""Where a LoRA training step's time and memory go, and what each speed lever of the loop buys.

    .venv/bin/python benchmarks/training_levers.py [--batches 3] [--repeats 3] [--max-length 512]
        [--threads 2] [--no-memory]

On the built-in model with the app's default LoRA (r 16 on all linear layers of the blocks) and
batches of 4 DialogSum dev examples (chat template, prompt labels -100, cut at ``--max-length``):

1. the matmul ceiling of this CPU: a 2048² x 2048² product in fp32 and in bf16 (GFLOP/s; 512² for
   a bf16 that the CPU only emulates, where it is ~25x slower than fp32);
2. a profile of one training step (forward + backward + AdamW) split into its parts, each timed
   alone at the batch's real shapes: attention blocks, MLP blocks, LM head (full vs completion
   positions only), cross-entropy, optimizer step, and what the rest (norms, embeddings, LoRA
   bookkeeping) takes;
3. the levers, alternating in one process over the same batches (medians): plain (fp32, full head,
   random batches = the loop before issue 14), + completion-only head, + length-grouped batches,
   + no LoRA dropout (no copies of each adapter's input), + gradient checkpointing, + bf16 autocast
   (only on a CPU with native bf16); useful (non-padding) tokens/s of each and the mean loss;
4. with memory on, the peak RSS of a few steps of each lever in a fresh process.

Prints every repetition and one table at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DIALOGSUM_DEV = REPO.parent / "shared" / "data" / "dialogsum" / "dialogsum.dev.jsonl"
LEVERS = (
    "plain",
    "head",
    "head+grouped",
    "head+grouped+nodrop",
    "head+grouped+nodrop+ckpt",
    "head+grouped+nodrop+bf16",
)


def matmul_ceiling(dtype, n: int = 2048, repeats: int = 5) -> float:
    import torch

    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def load(args):

    from lora_model import default_lora

    from ift_desktop.core.training.data import CompletionOnlyCollator, encode_example

    loaded, model = default_lora(getattr(args, "model", "builtin"), dropout=0.05)
    model.train()
    rows = [json.loads(line) for line in DIALOGSUM_DEV.read_text(encoding="utf-8").splitlines()[: 4 * 8 * args.batches]]
    features = []
    for row in rows:
        example = {"prompt": f"Summarize the following dialogue:\n\n{row['dialogue']}", "completion": row["summary"]}
        encoded, _ = encode_example(
            example, loaded.tokenizer, is_seq2seq=False, max_length=args.max_length, use_chat_template=None
        )
        if encoded:
            features.append(encoded)
    collate = CompletionOnlyCollator(loaded.tokenizer.pad_token_id)
    rng = random.Random(0)
    pool = features[: 4 * 4 * args.batches]
    random_batches = [collate(pool[i * 4 : (i + 1) * 4]) for i in range(args.batches)]
    # length-grouped: the same kind of examples, sorted into batches of similar length (what the
    # Trainer's LengthGroupedSampler does within each megabatch of 50 batches)
    ordered = sorted(pool, key=lambda f: len(f["input_ids"]))
    grouped_all = [ordered[i : i + 4] for i in range(0, len(ordered), 4)]
    grouped_batches = [collate(b) for b in rng.sample(grouped_all, args.batches)]
    return model, random_batches, grouped_batches


def step(model, optimizer, batch, *, head: bool, bf16: bool) -> float:
    import torch

    from ift_desktop.core.training.head_loss import completion_loss

    context = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else torch.autocast("cpu", enabled=False)
    with context:
        loss = completion_loss(model, batch) if head else model(**batch).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss)


def set_lora_dropout(model, on: bool) -> None:
    """LoRA dropout 0.05 (peft's nn.Dropout) or none (nn.Identity: the input is not copied)."""
    import torch

    for module in model.modules():
        dropouts = getattr(module, "lora_dropout", None)
        if isinstance(dropouts, torch.nn.ModuleDict):
            for key in list(dropouts.keys()):
                dropouts[key] = torch.nn.Dropout(0.05) if on else torch.nn.Identity()


def run_lever(model, optimizer, batches, lever: str) -> tuple[float, int, float]:
    """Seconds, useful tokens and mean loss of one pass over ``batches`` with the lever's settings."""
    flags = set(lever.split("+"))
    set_lora_dropout(model, "nodrop" not in flags)
    if "ckpt" in flags:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    start = time.perf_counter()
    try:
        losses = [step(model, optimizer, b, head="head" in flags, bf16="bf16" in flags) for b in batches]
    finally:
        if "ckpt" in flags:
            model.gradient_checkpointing_disable()
    return time.perf_counter() - start, tokens, statistics.mean(losses)


def profile_parts(model, batch, *, head_only: bool, repeats: int = 3) -> dict:
    """Seconds of each part of a forward + backward + AdamW step, each part timed alone."""
    import torch

    causal = model.get_base_model()
    decoder = causal.model
    layers = decoder.layers
    hidden = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state.detach()
    x = hidden.clone().requires_grad_(True)
    position_ids = torch.arange(x.shape[1]).unsqueeze(0)
    embeddings = decoder.rotary_emb(x, position_ids)
    from transformers.masking_utils import create_causal_mask

    mask = create_causal_mask(
        config=causal.config,
        inputs_embeds=x,
        attention_mask=batch["attention_mask"],
        past_key_values=None,
        position_ids=position_ids,
    )

    def timed(fn) -> float:
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    layer = layers[0]

    def attention():
        out = layer.self_attn(
            hidden_states=layer.input_layernorm(x), position_embeddings=embeddings, attention_mask=mask
        )[0]
        out.sum().backward()

    def mlp():
        layer.mlp(layer.post_attention_layernorm(x)).sum().backward()

    labels = batch["labels"][:, 1:]
    trained = labels != -100
    head_module = causal.lm_head

    def head_and_loss(full: bool):
        def run():
            h = x[:, :-1]
            if full:
                logits = head_module(h).float()
                loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
            else:
                logits = head_module(h[trained]).float()
                loss = torch.nn.functional.cross_entropy(logits, labels[trained])
            loss.backward()

        return run

    def head_alone(full: bool):
        def run():
            h = x[:, :-1] if full else x[:, :-1][trained]
            head_module(h).float().sum().backward()

        return run

    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.zeros_like(p)
    optimizer = torch.optim.AdamW(params, lr=0.0)
    optimizer.step()
    n_layers = len(layers)
    full = not head_only
    parts = {
        "attention (all layers)": timed(attention) * n_layers,
        "MLP (all layers)": timed(mlp) * n_layers,
        "LM head": timed(head_alone(full)),
        "cross-entropy": max(0.0, timed(head_and_loss(full)) - timed(head_alone(full))),
        "optimizer (AdamW)": timed(optimizer.step),
    }
    model.zero_grad(set_to_none=True)
    return parts


def peak_rss_of(lever: str, args) -> float:
    """Peak RSS (GiB) of a fresh process that loads the model and runs two steps of ``lever``."""
    command = [
        sys.executable,
        __file__,
        "--memory-child",
        lever,
        "--max-length",
        str(args.max_length),
        "--threads",
        str(args.threads),
        "--batches",
        "2",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    lines = [line for line in done.stdout.splitlines() if line.startswith("PEAK_RSS_GIB")]
    if not lines:
        raise SystemExit(f"memory child for {lever} failed:\n{done.stderr[-2000:]}")
    return float(lines[-1].split()[1])


def memory_child(args) -> None:
    import torch

    model, random_batches, grouped_batches = load(args)
    batches = grouped_batches if "grouped" in args.memory_child else random_batches
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    run_lever(model, optimizer, batches, args.memory_child)
    print(f"PEAK_RSS_GIB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument(
        "--memory-levers",
        default="plain,head+grouped+nodrop,head+grouped+nodrop+ckpt",
        help="comma-separated levers whose peak RSS is measured (each in a fresh process)",
    )
    parser.add_argument("--memory-child", choices=LEVERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args)
        return 0
    import transformers

    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, {args.threads} threads, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}"
    )
    from ift_desktop.core.models.device import cpu_has_native_bf16

    native = cpu_has_native_bf16()
    # an emulated bf16 product runs at a few % of fp32: measure it on a smaller matrix
    ceiling = {
        "fp32": matmul_ceiling(torch.float32),
        "bf16": matmul_ceiling(torch.bfloat16, n=2048 if native else 512, repeats=5 if native else 2),
    }
    print(
        f"matmul ceiling: fp32 {ceiling['fp32']:.1f} GFLOP/s (2048²), bf16 {ceiling['bf16']:.1f} GFLOP/s "
        f"({'2048²' if native else '512²'}); native bf16: {native}",
        flush=True,
    )
    levers = LEVERS if native else LEVERS[:-1]
    if not native:
        print("no native bf16 on this CPU: the bf16 lever is not measured (auto keeps fp32 here)")

    model, random_batches, grouped_batches = load(args)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.0)  # lr 0: same weights
    for name, batches in (("random", random_batches), ("grouped", grouped_batches)):
        positions = sum(b["input_ids"].numel() for b in batches)
        useful = sum(int(b["attention_mask"].sum()) for b in batches)
        completion = sum(int((b["labels"] != -100).sum()) for b in batches)
        print(
            f"{name} batches: {positions} positions, {useful} non-padding ({useful / positions:.0%}), "
            f"{completion} completion tokens ({completion / useful:.0%} of the non-padding)"
        )

    print("\nprofile of one step (each part timed alone; seconds):")
    for title, batch, lever in (
        ("before: random batch, full head, LoRA dropout", random_batches[0], "plain"),
        ("after: grouped batch, completion head, no LoRA dropout", grouped_batches[0], "head+grouped+nodrop"),
    ):
        set_lora_dropout(model, "nodrop" not in lever)
        parts = profile_parts(model, batch, head_only=lever != "plain")
        seconds = min(run_lever(model, optimizer, [batch], lever)[0] for _ in range(2))
        rest = seconds - sum(parts.values())
        print(
            f"  {title}: step {seconds:.2f} s = "
            + ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
            + f", rest {rest:.2f}",
            flush=True,
        )

    times: dict[str, list[float]] = {lever: [] for lever in levers}
    tokens: dict[str, int] = {}
    losses: dict[str, float] = {}
    print("\nlevers (alternating, same batches):")
    for repeat in range(args.repeats):
        for lever in levers:
            batches = grouped_batches if "grouped" in lever else random_batches
            seconds, count, loss = run_lever(model, optimizer, batches, lever)
            times[lever].append(seconds)
            tokens[lever], losses[lever] = count, loss
            print(
                f"  [{repeat + 1}] {lever:20s} {seconds:6.2f} s, {count / seconds:7.1f} useful tokens/s, "
                f"mean loss {loss:.4f}",
                flush=True,
            )

    memory = {}
    if not args.no_memory:
        for lever in [name for name in args.memory_levers.split(",") if name in levers]:
            memory[lever] = peak_rss_of(lever, args)
            print(f"  peak RSS {lever}: {memory[lever]:.2f} GiB", flush=True)

    sys.path.insert(0, str(REPO / "benchmarks"))
    from flops import step_flops

    config = model.get_base_model().config

    def model_flops(lever: str) -> float:
        """Useful model FLOPs of one pass over the lever's batches: the non-padding tokens, and the head
        where the lever runs it on real tokens (all of them for the full head, the completion otherwise)."""
        batches = grouped_batches if "grouped" in lever else random_batches
        total = 0.0
        for b in batches:
            lengths = b["attention_mask"].sum(dim=1).long()
            useful = int(lengths.sum())
            head = int((b["labels"][:, 1:] != -100).sum()) if "head" in lever else useful
            total += step_flops(
                config, tokens=useful, sum_sq_lengths=int((lengths**2).sum()), head_positions=head, method="lora"
            )
        return total

    base = tokens["plain"] / statistics.median(times["plain"])
    print(
        "\n| lever | useful tokens/s (median) | x plain | model GFLOP/s | share of the fp32 ceiling | mean loss | peak RSS GiB |"
    )
    print("|---|---|---|---|---|---|---|")
    for lever in levers:
        seconds = statistics.median(times[lever])
        rate = tokens[lever] / seconds
        rss = f"{memory[lever]:.2f}" if lever in memory else "-"
        gflops = model_flops(lever) / seconds / 1e9
        print(
            f"| {lever} | {rate:.1f} | {rate / base:.2f} | {gflops:.1f} | {gflops / ceiling['fp32']:.0%} | "
            f"{losses[lever]:.4f} | {rss} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
