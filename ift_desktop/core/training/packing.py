"""Padding-free packing: a batch's examples concatenated into as few rows as fit, none attending across.

A causal LM batch normally pads every example to the longest one. Packing puts the batch's examples
end to end into rows of at most ``max_length`` tokens (first fit, longest first), with

- ``position_ids`` that restart at 0 for every example, so each example sees the positions it would
  see alone;
- an explicit block-diagonal causal mask (``rows x 1 x T x T``, True = may attend): a token attends
  only to the earlier tokens of its own example. Transformers passes a 4D mask to the attention
  as given (``masking_utils._preprocess_mask_arguments``); its own packed-sequence detection from
  ``position_ids`` only runs without a mask and without a cache, which a model called with its
  default ``use_cache=True`` does not meet, so the mask is made here rather than left to it;
- labels -100 at each example's first token (never a target alone either: the shifted loss has no
  earlier token to predict it from) and at the padding after the last example of a row.

The padding at a row's end forms its own block (it attends to itself only), so no row of the mask is
empty. ``real_tokens`` holds the batch's non-padding token count (the 4D mask cannot say it).
Used for causal LMs with the completion-only loss (head_loss.py), which reads the keys it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

IGNORE_INDEX = -100


def pack_rows(lengths: list[int], capacity: int) -> list[list[int]]:
    """Indices of the examples in each row: first fit, longest first, rows of at most ``capacity``."""
    rows: list[list[int]] = []
    room: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        for row, left in enumerate(room):
            if lengths[index] <= left:
                rows[row].append(index)
                room[row] -= lengths[index]
                break
        else:
            rows.append([index])
            room.append(capacity - lengths[index])
    return rows


def block_causal_mask(segments: torch.Tensor) -> torch.Tensor:
    """``rows x 1 x T x T`` bool: position q may attend to k when k <= q and both are in one segment."""
    length = segments.shape[1]
    same = segments[:, :, None] == segments[:, None, :]
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    return (same & causal)[:, None]


@dataclass
class PackingCollator:
    """Packs a batch of tokenized examples (``input_ids``, ``labels``) into padding-free rows."""

    pad_token_id: int
    max_length: int

    def __call__(self, batch: list[dict]) -> dict[str, torch.Tensor]:
        lengths = [len(item["input_ids"]) for item in batch]
        rows = pack_rows(lengths, max(self.max_length, max(lengths)))
        width = max(sum(lengths[i] for i in row) for row in rows)
        input_ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
        position_ids = torch.zeros((len(rows), width), dtype=torch.long)
        segments = torch.full((len(rows), width), len(batch), dtype=torch.long)  # padding: its own block
        for r, row in enumerate(rows):
            start = 0
            for index in row:
                item, n = batch[index], lengths[index]
                input_ids[r, start : start + n] = torch.tensor(item["input_ids"], dtype=torch.long)
                labels[r, start + 1 : start + n] = torch.tensor(item["labels"][1:n], dtype=torch.long)
                position_ids[r, start : start + n] = torch.arange(n)
                segments[r, start : start + n] = index
                start += n
            position_ids[r, start:] = torch.arange(width - start)
        return {
            "input_ids": input_ids,
            "attention_mask": block_causal_mask(segments),
            "position_ids": position_ids,
            "labels": labels,
            "real_tokens": torch.tensor(sum(lengths)),
        }
