"""Token statistics of an instruction dataset, measured with the chosen model's tokenizer.

Lengths come from :func:`ift_desktop.core.models.formatting.format_for_model`, the same function
training and evaluation use, so they include the chat template, special tokens and the
end-of-turn marker exactly as the model will see them.

At a given ``max_length``:

- an example is **truncated** when it does not fit whole (causal LM: prompt + completion longer
  than ``max_length``; seq2seq: encoder input or labels longer than ``max_length``);
- its **completion is cut** when some completion tokens fall beyond the limit (sequences are cut
  at the end, so for a causal LM every truncated example loses completion tokens);
- its **completion is lost** when the prompt alone fills the limit and nothing is left to learn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..progress import TaskState


def _percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return 0.0
    k = (len(sorted_values) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo))


def _describe(values: list[int]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"min": 0, "mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0}
    return {
        "min": ordered[0],
        "mean": sum(ordered) / len(ordered),
        "median": _percentile(ordered, 0.5),
        "p95": _percentile(ordered, 0.95),
        "max": ordered[-1],
    }


@dataclass
class TokenStats:
    prompt_lengths: list[int]
    completion_lengths: list[int]
    total_lengths: list[int]
    max_length: int
    n_truncated: int
    n_completion_cut: int
    n_completion_lost: int = 0
    is_seq2seq: bool = False
    chat_template: bool = False
    truncated_indices: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.total_lengths)

    @property
    def share_truncated(self) -> float:
        return self.n_truncated / self.count if self.count else 0.0

    def at(self, max_length: int) -> TokenStats:
        """The same lengths judged at another ``max_length`` (no re-tokenizing: the wizard's slider)."""
        return _judge(self.prompt_lengths, self.completion_lengths, max_length, self.is_seq2seq, self.chat_template)

    def suggested_max_length(self, keep: float = 0.99, multiple: int = 32) -> int:
        """The smallest multiple of ``multiple`` that fits ``keep`` of the examples whole."""
        lengths = sorted(
            max(p, c) if self.is_seq2seq else t
            for p, c, t in zip(self.prompt_lengths, self.completion_lengths, self.total_lengths)
        )
        if not lengths:
            return multiple
        need = lengths[min(len(lengths) - 1, math.ceil(keep * len(lengths)) - 1)]
        return max(multiple, math.ceil(need / multiple) * multiple)

    def summary(self) -> dict:
        return {
            "count": self.count,
            "max_length": self.max_length,
            "is_seq2seq": self.is_seq2seq,
            "chat_template": self.chat_template,
            "prompt": _describe(self.prompt_lengths),
            "completion": _describe(self.completion_lengths),
            "total": _describe(self.total_lengths),
            "n_truncated": self.n_truncated,
            "share_truncated": self.share_truncated,
            "n_completion_cut": self.n_completion_cut,
            "n_completion_lost": self.n_completion_lost,
            "suggested_max_length": self.suggested_max_length(),
        }


def _judge(prompts: list[int], completions: list[int], max_length: int, is_seq2seq: bool, chat: bool) -> TokenStats:
    if max_length < 1:
        from ..errors import DataError

        raise DataError(f"The maximum length must be at least 1 token (got {max_length}).")
    truncated, cut, lost = [], 0, 0
    for i, (p, c) in enumerate(zip(prompts, completions)):
        if is_seq2seq:
            over = p > max_length or c > max_length
            cut += c > max_length
        else:
            over = p + c > max_length
            cut += over and c > 0
            lost += p >= max_length and c > 0
        if over:
            truncated.append(i)
    totals = [p + c for p, c in zip(prompts, completions)]
    return TokenStats(
        list(prompts), list(completions), totals, max_length, len(truncated), cut, lost, is_seq2seq, chat, truncated
    )


def token_stats(
    examples: list[dict],
    tokenizer,
    *,
    max_length: int,
    is_seq2seq: bool = False,
    use_chat_template: bool | None = None,
    state: TaskState | None = None,
) -> TokenStats:
    """Tokenize every example as the model will see it and count lengths and truncation at ``max_length``."""
    from ..models.formatting import format_for_model

    prompts, completions = [], []
    chat = False
    n = len(examples)
    for index, example in enumerate(examples):
        text = format_for_model(
            example["prompt"],
            example["completion"],
            tokenizer,
            is_seq2seq=is_seq2seq,
            use_chat_template=use_chat_template,
        )
        chat = chat or text.chat_template
        prompts.append(len(text.prompt_ids))
        completions.append(len(text.completion_ids))
        if state is not None and index % 32 == 0:
            state.check_cancelled()
            state.report(index / n, f"Tokenizing ({index}/{n})")
    if state is not None:
        state.report(1.0, f"Tokenized {n} examples")
    return _judge(prompts, completions, max_length, is_seq2seq, chat)
