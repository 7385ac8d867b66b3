"""Test helpers for the forgetting check: a LoRA run folder as training writes it, a tiny MMLU folder."""

from __future__ import annotations

import json

from ift_desktop.core.models import ModelSpec


def make_lora_run(folder, base_folder, *, with_adapter: bool = True):
    """A run folder as training writes it: run.json naming the base model, and a (random) LoRA adapter."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    folder.mkdir(parents=True)
    record = {
        "model": ModelSpec.parse(str(base_folder)).to_dict(),
        "config": {"method": "lora", "use_chat_template": False},
        "status": "finished" if with_adapter else "failed",
    }
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    if with_adapter:
        model = AutoModelForCausalLM.from_pretrained(base_folder)
        peft = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
        peft.save_pretrained(folder / "adapter")
    return folder


def write_mmlu(folder, subjects=("astronomy", "virology"), dev=3, test=4):
    """A tiny MMLU-format folder: no header, ``question,A,B,C,D,answer``."""
    folder.mkdir(parents=True, exist_ok=True)
    for s, subject in enumerate(subjects):
        for split, n in (("dev", dev), ("test", test)):
            lines = []
            for i in range(n):
                answer = "ABCD"[(i + s) % 4]
                lines.append(f'"Question {i} about {subject}, with a comma?",one,two,three,four,{answer}')
            (folder / f"{subject}_{split}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
