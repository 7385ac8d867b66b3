"""Packed rows (restarting positions, block-diagonal causal mask) give each example the loss it has alone."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tiny_models import make_tiny_dataset, make_tiny_llama, tiny_examples

from ift_desktop.core.models import ModelSpec, load_model
from ift_desktop.core.training import TrainConfig, run_training
from ift_desktop.core.training.data import (
    CompletionOnlyCollator,
    count_tokens,
    encode_example,
)
from ift_desktop.core.training.head_loss import completion_loss
from ift_desktop.core.training.packing import (
    PackingCollator,
    block_causal_mask,
    pack_rows,
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = make_tiny_llama(tmp_path_factory.mktemp("llama"), chat_template=True)
    result = load_model(ModelSpec.parse(str(folder)), for_training=True, dtype=torch.float32)
    result.model.eval()
    return result


def _features(tokenizer, n=5):
    return [
        encode_example(row, tokenizer, is_seq2seq=False, max_length=1000, use_chat_template=None)[0]
        for row in tiny_examples(n)
    ]


def _token_losses(model, batch) -> torch.Tensor:
    """Cross-entropy of every position's next token (0 where the label is -100)."""
    keys = {key: batch[key] for key in ("input_ids", "attention_mask", "position_ids") if key in batch}
    logits = model(**keys, use_cache=False).logits[:, :-1].float()
    targets = batch["labels"][:, 1:]
    losses = F.cross_entropy(logits.transpose(1, 2), targets.clamp(min=0), reduction="none")
    return losses * (targets != -100)


def test_first_fit_packing_and_the_block_diagonal_mask():
    assert pack_rows([5, 3, 4, 2], capacity=8) == [[0, 1], [2, 3]]
    assert pack_rows([9, 2], capacity=8) == [[0], [1]]  # an example longer than a row gets a row of its own
    mask = block_causal_mask(torch.tensor([[0, 0, 1, 1, 2]]))[0, 0]
    assert mask.tolist() == [
        [True, False, False, False, False],
        [True, True, False, False, False],
        [False, False, True, False, False],
        [False, False, True, True, False],
        [False, False, False, False, True],
    ]


def test_a_packed_batch_gives_each_example_its_loss_alone(loaded):
    model, tokenizer = loaded.model, loaded.tokenizer
    features = _features(tokenizer)
    lengths = [len(f["input_ids"]) for f in features]
    capacity = sum(sorted(lengths)[-3:])
    packed = PackingCollator(tokenizer.pad_token_id, max_length=capacity)(features)
    rows = pack_rows(lengths, capacity)
    assert len(rows) == packed["input_ids"].shape[0] < len(features)  # rows hold more than one example
    assert int(count_tokens(packed, is_seq2seq=False)) == sum(lengths)
    packed_losses = _token_losses(model, packed)
    checked = 0
    for r, row in enumerate(rows):
        start = 0
        for index in row:
            n = lengths[index]
            assert packed["input_ids"][r, start : start + n].tolist() == features[index]["input_ids"]
            alone = _token_losses(model, CompletionOnlyCollator(tokenizer.pad_token_id)([features[index]])).sum()
            got = packed_losses[r, start : start + n - 1].sum()
            assert got.item() == pytest.approx(alone.item(), rel=1e-5, abs=1e-5)
            start += n
            checked += 1
    assert checked == len(features)
    # the completion-only loss of the packed batch is the padded batch's (same tokens, same mean)
    padded = CompletionOnlyCollator(tokenizer.pad_token_id)(features)
    assert completion_loss(model, packed).item() == pytest.approx(completion_loss(model, padded).item(), rel=1e-5)


def test_without_the_mask_a_packed_row_attends_across_examples(loaded):
    """What the mask prevents: restarting positions alone leave examples attending to the one before."""
    model, tokenizer = loaded.model, loaded.tokenizer
    features = _features(tokenizer, n=2)
    packed = PackingCollator(tokenizer.pad_token_id, max_length=10_000)(features)
    assert packed["input_ids"].shape[0] == 1
    unmasked = {key: value for key, value in packed.items() if key != "attention_mask"}
    with_mask = _token_losses(model, packed).sum()
    logits = model(input_ids=unmasked["input_ids"], position_ids=unmasked["position_ids"]).logits  # default cache on
    targets = packed["labels"][:, 1:]
    without = (
        F.cross_entropy(logits[:, :-1].float().transpose(1, 2), targets.clamp(min=0), reduction="none")
        * (targets != -100)
    ).sum()
    assert abs(without.item() - with_mask.item()) > 1e-4


def test_a_run_with_packing_trains_and_counts_the_real_tokens(tmp_path):
    model = ModelSpec.parse(str(make_tiny_llama(tmp_path / "llama")))
    data = make_tiny_dataset(tmp_path / "data", n=8, val=2, test=2)
    result = run_training(
        TrainConfig(packing=True, max_steps=2, batch_size=4, eval_steps=1, save_steps=0),
        data_dir=data,
        model=model,
        out_dir=tmp_path / "run",
    )
    assert result.status == "finished" and result.final_loss is not None and result.final_eval_loss is not None
    assert all(row.get("tokens_per_s") for row in result.metrics if row.get("loss") is not None)
