"""Length-grouped batches in random order: the same batches as transformers' sampler, not longest first."""

from __future__ import annotations

import random

import torch
from transformers.trainer_pt_utils import get_length_grouped_indices

from ift_desktop.core.training.batch_order import ShuffledLengthGroups, shuffled_length_groups


def _lengths(n: int) -> list[int]:
    rng = random.Random(7)
    return [rng.randint(20, 600) for _ in range(n)]


def _batches(indices: list[int], size: int) -> list[tuple[int, ...]]:
    return [tuple(indices[start : start + size]) for start in range(0, len(indices), size)]


def _mean_length(batches, lengths) -> float:
    return sum(lengths[i] for batch in batches for i in batch) / sum(len(batch) for batch in batches)


def test_the_batches_are_transformers_length_groups_in_random_order_longest_first():
    lengths = _lengths(1000)
    theirs = _batches(get_length_grouped_indices(lengths, 4, generator=torch.Generator().manual_seed(3)), 4)
    ours = _batches(shuffled_length_groups(lengths, 4, generator=torch.Generator().manual_seed(3)), 4)

    assert sorted(i for batch in ours for i in batch) == list(range(1000))
    assert sorted(ours) == sorted(theirs)  # the same groups: the same padding
    assert max(range(1000), key=lengths.__getitem__) in ours[0]  # a run that does not fit fails at once
    assert ours != theirs
    # what a short, time-limited run sees: transformers' first 30 batches are the longest of a mega-batch
    overall = _mean_length(ours, lengths)
    assert _mean_length(theirs[1:31], lengths) > 1.3 * overall
    assert abs(_mean_length(ours[1:31], lengths) - overall) < 0.1 * overall


def test_a_partial_last_batch_stays_last():
    lengths = _lengths(10)
    theirs = get_length_grouped_indices(lengths, 4, generator=torch.Generator().manual_seed(1))
    ours = shuffled_length_groups(lengths, 4, generator=torch.Generator().manual_seed(1))
    assert sorted(ours) == list(range(10))
    assert ours[-2:] == theirs[-2:]


def test_each_epoch_takes_a_new_order():
    sampler = ShuffledLengthGroups(_lengths(400), 4, generator=torch.Generator().manual_seed(0))
    first, second = list(sampler), list(sampler)
    assert len(sampler) == 400 and sorted(first) == sorted(second) == list(range(400))
    assert first != second


def test_the_runs_trainer_takes_the_shuffled_order(tmp_path, llama):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, TrainingArguments

    from ift_desktop.core.training.hf_trainer import trainer_class

    rows = Dataset.from_dict({"input_ids": [[1] * length for length in _lengths(40)]})
    args = TrainingArguments(
        output_dir=str(tmp_path), train_sampling_strategy="group_by_length", use_cpu=True, report_to="none"
    )
    trainer = trainer_class(False)(model=AutoModelForCausalLM.from_pretrained(llama), args=args, train_dataset=rows)
    assert isinstance(trainer._get_train_sampler(), ShuffledLengthGroups)
