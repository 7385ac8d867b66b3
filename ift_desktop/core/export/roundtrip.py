"""The check before handing a GGUF file over: read it back and ask it the run's probe prompts.

transformers reads GGUF (``from_pretrained(folder, gguf_file=...)``): it rebuilds the tokenizer from
the file's metadata — the chat template and the special tokens included — and the weights, undoing
llama.cpp's q/k row order. The probe prompts are formatted exactly as the app formats them
(``format_for_model`` through the read-back tokenizer, so a lost chat template or end-of-turn token
shows) and answered greedily; the answers are compared token for token with the merged model's.

A float16 file must give the same answers; a Q8_0 file is reported side by side with how many are
the same. The metadata must hold the intended chat template and end-of-turn token, and the read-back
tokenizer must cut each prompt into the same tokens; anything else is an error with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ExportError
from ..models.formatting import format_for_model
from ..progress import TaskState

DEFAULT_PROMPTS = [
    "Summarize in one sentence: The meeting moved from Monday to Wednesday because the room was booked.",
    "What is the capital of France?",
    "Write a short, friendly greeting for a new colleague.",
]


@dataclass
class Intended:
    """What the file must say about the tokenizer."""

    chat_template: str
    eot_text: str
    eos_text: str
    uses_chat: bool


@dataclass
class RoundTripResult:
    answers: list[dict]  # {prompt, merged, gguf, identical, merged_tokens, gguf_tokens}
    identical: int
    total: int
    checks: dict[str, bool]
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def all_identical(self) -> bool:
        return self.identical == self.total

    def to_dict(self) -> dict:
        return {
            "identical": self.identical,
            "total": self.total,
            "all_identical": self.all_identical,
            "checks": self.checks,
            "problems": self.problems,
            "seconds": round(self.seconds, 2),
            "answers": self.answers,
        }


def answer_probes(model, tokenizer, prompts: list[str], *, uses_chat: bool, max_new_tokens: int) -> list[dict]:
    from ..training.probes import generate_answers

    return generate_answers(
        model,
        tokenizer,
        prompts,
        is_seq2seq=False,
        use_chat_template=uses_chat,
        max_new_tokens=max_new_tokens,
        with_tokens=True,
    )


def read_metadata(path: str | Path) -> dict:
    """The file's tokenizer facts: chat template, end-of-turn and eos token texts."""
    import gguf

    reader = gguf.GGUFReader(str(path))

    def value(key):
        field_ = reader.fields.get(key)
        return field_.contents() if field_ is not None else None

    tokens = value("tokenizer.ggml.tokens") or []

    def token(key):
        index = value(key)
        return tokens[index] if isinstance(index, int) and 0 <= index < len(tokens) else None

    return {
        "architecture": value("general.architecture"),
        "chat_template": value("tokenizer.chat_template"),
        "eot": token("tokenizer.ggml.eot_token_id"),
        "eos": token("tokenizer.ggml.eos_token_id"),
        "add_bos": value("tokenizer.ggml.add_bos_token"),
        "tensor_types": sorted({t.tensor_type.name for t in reader.tensors}),
    }


def _load_back(path: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    except Exception as exc:
        raise ExportError(
            f"The written GGUF file could not be read back by transformers ({type(exc).__name__}: {exc}); "
            "it was not kept.".replace("\n", " ")
        ) from None
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer


def _check_metadata(metadata: dict, tokenizer, intended: Intended) -> tuple[dict[str, bool], list[str]]:
    checks = {
        "chat_template_in_file": metadata["chat_template"] == intended.chat_template,
        "end_of_turn_in_file": metadata["eot"] == intended.eot_text,
        "eos_in_file": metadata["eos"] == intended.eos_text,
        "chat_template_read_back": (tokenizer.chat_template or "") == intended.chat_template,
        "eos_read_back": tokenizer.eos_token == intended.eos_text,
    }
    reasons = {
        "chat_template_in_file": "the chat template stored in the file is not the one the run trained with",
        "end_of_turn_in_file": f"the file's end-of-turn token is {metadata['eot']!r}, not {intended.eot_text!r}",
        "eos_in_file": f"the file's end token is {metadata['eos']!r}, not {intended.eos_text!r}",
        "chat_template_read_back": "the chat template read back from the file differs from the run's",
        "eos_read_back": f"the end token read back is {tokenizer.eos_token!r}, not {intended.eos_text!r}",
    }
    return checks, [reasons[name] for name, ok in checks.items() if not ok]


def round_trip(
    path: str | Path,
    *,
    reference: list[dict],
    source_tokenizer,
    intended: Intended,
    max_new_tokens: int,
    state: TaskState | None = None,
) -> RoundTripResult:
    """Load ``path`` back and compare its answers with ``reference`` (the merged model's)."""
    state = state or TaskState()
    started = time.monotonic()
    path = Path(path)
    metadata = read_metadata(path)
    state.check_cancelled()
    model, tokenizer = _load_back(path)
    state.check_cancelled()
    checks, problems = _check_metadata(metadata, tokenizer, intended)
    prompts = [row["prompt"] for row in reference]
    same_input = all(
        format_for_model(p, "", tokenizer, use_chat_template=intended.uses_chat).prompt_ids
        == format_for_model(p, "", source_tokenizer, use_chat_template=intended.uses_chat).prompt_ids
        for p in prompts
    )
    checks["prompt_tokens_read_back"] = same_input
    if not same_input:
        problems.append("the tokenizer read back from the file cuts the probe prompts into different tokens")
    answers = []
    for index, row in enumerate(reference):
        state.check_cancelled()
        state.report(
            index / max(1, len(reference)), f"Checking the file: probe prompt {index + 1} of {len(reference)}…"
        )
        got = answer_probes(
            model, tokenizer, [row["prompt"]], uses_chat=intended.uses_chat, max_new_tokens=max_new_tokens
        )[0]
        answers.append(
            {
                "prompt": row["prompt"],
                "merged": row["answer"],
                "gguf": got["answer"],
                "identical": got["tokens"] == row["tokens"],
                "merged_tokens": row["tokens"],
                "gguf_tokens": got["tokens"],
            }
        )
    identical = sum(a["identical"] for a in answers)
    return RoundTripResult(answers, identical, len(answers), checks, time.monotonic() - started, problems)


def first_difference(result: RoundTripResult) -> str:
    """Where the first differing answer departs, for the error message."""
    for row in result.answers:
        if not row["identical"]:
            a, b = row["merged_tokens"], row["gguf_tokens"]
            at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            return f"first at prompt {row['prompt'][:40]!r}, token {at + 1}: {row['merged'][:60]!r} vs {row['gguf'][:60]!r}"
    return ""
