"""Test helpers for the forgetting check: a tiny MMLU folder (the run folder is tiny_models.make_lora_run)."""

from __future__ import annotations


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
