"""The order of a run's batches: grouped by length, the groups in random order.

transformers' ``LengthGroupedSampler`` sorts each mega-batch of 50 batches longest first, so a run
that ends before the first mega-batch is through (a time-limited run on a CPU trains ~30 batches)
trains only on the longest examples of a random fifth of the data, at the slowest pace. Here the
batches keep their similar lengths (little padding) but come in random order, except that the batch
with the longest example still comes first, so that a run that does not fit in memory fails at its
first step. A partial last batch stays last (the loader cuts batches from consecutive indices).
"""

from __future__ import annotations

import torch


def shuffled_length_groups(lengths: list[int], batch_size: int, generator=None) -> list[int]:
    """Indices whose consecutive runs of ``batch_size`` have similar lengths, the runs in random order
    (the one with the longest example first, a partial one last)."""
    from transformers.trainer_pt_utils import get_length_grouped_indices

    indices = get_length_grouped_indices(lengths, batch_size, generator=generator)
    batches = [indices[start : start + batch_size] for start in range(0, len(indices), batch_size)]
    partial = [batches.pop()] if batches and len(batches[-1]) < batch_size else []
    if len(batches) <= 1:
        return [index for batch in batches + partial for index in batch]
    rest = batches[1:]
    order = torch.randperm(len(rest), generator=generator).tolist()
    ordered = [batches[0], *(rest[position] for position in order), *partial]
    return [index for batch in ordered for index in batch]


class ShuffledLengthGroups(torch.utils.data.Sampler):
    """A sampler of :func:`shuffled_length_groups`, a new order each epoch."""

    def __init__(self, lengths: list[int], batch_size: int, generator=None):
        self.lengths = lengths
        self.batch_size = batch_size
        self.generator = generator

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        return iter(shuffled_length_groups(self.lengths, self.batch_size, generator=self.generator))


def shuffled(sampler, processes: int = 1):
    """``sampler`` with its length groups in random order, when it is transformers'
    ``LengthGroupedSampler``; any other sampler as it is. With several ``processes`` the unit that moves
    is one step's batches of all of them (accelerate hands each process consecutive batches), so a
    launched run trains the same examples at each step as the same run in one process."""
    from transformers.trainer_pt_utils import LengthGroupedSampler

    if type(sampler) is not LengthGroupedSampler:
        return sampler
    return ShuffledLengthGroups(sampler.lengths, sampler.batch_size * max(1, processes), sampler.generator)
