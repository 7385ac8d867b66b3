"""Tiny models and datasets for tests, built from configs: nothing is downloaded.

- ``make_tiny_llama(folder)``: a 2-layer ``LlamaForCausalLM`` (hidden 32) with a byte-level
  tokenizer (``ByT5Tokenizer``: bytes as the vocabulary, 384 ids, needs no files), saved in Hugging
  Face layout. ``chat_template=True`` also gives the tokenizer a small chat template.
- ``make_tiny_t5(folder)``: a 2-layer ``T5ForConditionalGeneration`` (d_model 32) with the same
  tokenizer.
- ``make_tiny_dataset(folder, n=...)``: a prepared instruction dataset folder (train/validation/
  test.jsonl + manifest.json) of short, learnable summarization pairs.
- ``make_lora_run(folder, base_folder)``: a LoRA run folder as training writes it (run.json naming the
  base model, and a random adapter), for the commands and checks that take a run.

Each returns the folder it wrote; models load with ``ModelSpec.parse(str(folder))``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _tokenizer(chat_template: bool = False):
    from transformers import ByT5Tokenizer

    tokenizer = ByT5Tokenizer()
    if chat_template:
        tokenizer.chat_template = TINY_CHAT_TEMPLATE
    return tokenizer


def make_tiny_llama(folder, *, chat_template: bool = False, seed: int = 0, hidden_size: int = 32) -> Path:
    """Save a tiny causal LM (Llama architecture) and its tokenizer into ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=384,
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=None,
        eos_token_id=1,
        pad_token_id=0,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder, safe_serialization=True)
    _tokenizer(chat_template).save_pretrained(folder)
    return folder


def make_tiny_t5(folder, *, seed: int = 0) -> Path:
    """Save a tiny seq2seq model (T5 architecture) and its tokenizer into ``folder``."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=384,
        d_model=32,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        d_kv=16,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    model = T5ForConditionalGeneration(config)
    model.save_pretrained(folder, safe_serialization=True)
    _tokenizer(False).save_pretrained(folder)
    return folder


_NAMES = ["Ann", "Bob", "Cho", "Dev", "Eve", "Fay", "Gus", "Hal"]
_THINGS = ["lunch", "the report", "a movie", "the bus", "tennis", "the exam", "a party", "coffee"]


def tiny_examples(n: int, *, seed: int = 0) -> list[dict]:
    """``n`` short summarization pairs whose completion follows from the prompt (learnable)."""
    rng = random.Random(seed)
    rows = []
    for index in range(n):
        a, b = rng.sample(_NAMES, 2)
        thing = rng.choice(_THINGS)
        dialogue = f"{a}: Shall we do {thing}?\n{b}: Yes, at {index % 12 + 1}."
        rows.append(
            {
                "prompt": f"Summarize:\n{dialogue}\nSummary:",
                "completion": f" {a} and {b} agree on {thing}.",
                "task": "summarization",
                "template": "tiny",
                "id": f"tiny-{index}",
            }
        )
    return rows


def make_tiny_dataset(folder, *, n: int = 24, val: int = 4, test: int = 4, seed: int = 0) -> Path:
    """Write a prepared dataset folder: ``n`` train rows, ``val`` validation and ``test`` test rows."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = tiny_examples(n + val + test, seed=seed)
    splits = {"train": rows[:n], "validation": rows[n : n + val], "test": rows[n + val :]}
    for split, items in splits.items():
        with open(folder / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(item) + "\n")
    manifest = {
        "schema_version": 1,
        "source": "tiny (tests/tiny_models.py)",
        "task": "summarization",
        "template": "tiny",
        "mapping": {"document": ["dialogue"], "summary": ["summary"]},
        "counts": {split: len(items) for split, items in splits.items()},
        "seed": seed,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def make_lora_run(folder, base_folder, *, with_adapter: bool = True, config: dict | None = None) -> Path:
    """A run folder as training writes it: run.json naming the base model (``config`` as its training
    config, LoRA without the chat template unless given), and a random LoRA adapter; without the adapter
    the run is recorded as failed."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from ift_desktop.core.models import ModelSpec

    folder = Path(folder)
    folder.mkdir(parents=True)
    record = {
        "model": ModelSpec.parse(str(base_folder)).to_dict(),
        "config": {"method": "lora", "use_chat_template": False} if config is None else config,
        "status": "finished" if with_adapter else "failed",
    }
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    if with_adapter:
        model = AutoModelForCausalLM.from_pretrained(base_folder)
        peft = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
        peft.save_pretrained(folder / "adapter")
    return folder


CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def make_bpe_tokenizer(*, vocab_size: int = 400):
    """A byte-level BPE tokenizer trained here on the tiny examples (GPT-2 style, like SmolLM2's),
    with ChatML special tokens and chat template; ``<|im_end|>`` ends a turn and is the eos token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    texts = [row["prompt"] + row["completion"] for row in tiny_examples(200, seed=1)]
    backend.train_from_iterator(texts + ["What is the capital of France? Paris, 12 34."], trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|im_end|>", unk_token="<|endoftext|>"
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def make_tiny_bpe_llama(folder, *, seed: int = 0, family: str = "llama") -> Path:
    """A tiny Llama-family model (grouped-query attention: 4 heads, 2 key/value heads) with the BPE
    tokenizer above; ``family`` "qwen2" (q/k/v biases) or "mistral" gives that architecture instead.
    Weights start wider than usual so greedy answers do not hinge on near-ties."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = make_bpe_tokenizer()
    torch.manual_seed(seed)
    config = AutoConfig.for_model(
        family,
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        initializer_range=0.2,
    )
    if family == "qwen2":
        config.use_sliding_window = False
    if family == "mistral":
        config.sliding_window = None
    model = AutoModelForCausalLM.from_config(config)
    if family == "qwen2":  # biases start at zero; make them matter, as trained ones do
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if name.endswith("_proj.bias"):
                    parameter.normal_(0.0, 0.2)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
