"""Training examples as tensors: completion-only labels and a padding collator.

Each prompt/completion pair is rendered by :func:`format_for_model` (the same function the data
page's token statistics and evaluation use). For a causal LM the sequence is prompt + completion,
cut at ``max_length`` at the end, and the labels are ``-100`` on every prompt token, so the
cross-entropy loss covers the completion only. For a seq2seq model the prompt is the encoder input
and the completion the labels. The collator pads on the right and gives padding ``-100`` labels
and a zero attention mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..data.dataset_files import read_manifest, read_split
from ..errors import DataError, TrainingError
from ..models.formatting import format_for_model, has_chat_template
from ..progress import TaskState

IGNORE_INDEX = -100


@dataclass
class EncodedSplit:
    """The features of one split plus what was lost to the length limit."""

    features: list[dict] = field(default_factory=list)
    n_examples: int = 0
    n_truncated: int = 0  # examples whose completion was cut by max_length
    n_skipped: int = 0  # examples whose prompt alone filled max_length (nothing left to learn)


def encode_example(example: dict, tokenizer, *, is_seq2seq: bool, max_length: int, use_chat_template: bool | None):
    """``(features, truncated)`` for one example; features is ``None`` when nothing remains to learn."""
    text = format_for_model(
        example["prompt"], example["completion"], tokenizer, is_seq2seq=is_seq2seq, use_chat_template=use_chat_template
    )
    if is_seq2seq:
        prompt_ids = text.prompt_ids
        if len(prompt_ids) > max_length:
            prompt_ids = prompt_ids[: max_length - 1] + prompt_ids[-1:]  # keep the closing eos
        labels = text.completion_ids[:max_length]
        truncated = len(text.completion_ids) > max_length
        return {"input_ids": prompt_ids, "labels": labels}, truncated
    prompt_ids, completion_ids = text.prompt_ids, text.completion_ids
    if len(prompt_ids) >= max_length:
        return None, True
    room = max_length - len(prompt_ids)
    kept = completion_ids[:room]
    input_ids = prompt_ids + kept
    labels = [IGNORE_INDEX] * len(prompt_ids) + kept
    return {"input_ids": input_ids, "labels": labels}, len(kept) < len(completion_ids)


def encode_split(
    examples: list[dict],
    tokenizer,
    *,
    is_seq2seq: bool,
    max_length: int,
    use_chat_template: bool | None,
    state: TaskState | None = None,
    what: str = "training examples",
) -> EncodedSplit:
    result = EncodedSplit(n_examples=len(examples))
    total = max(1, len(examples))
    for index, example in enumerate(examples):
        if state is not None and index % 64 == 0:
            state.check_cancelled()
            state.report(index / total, f"Tokenizing {what}")
        features, truncated = encode_example(
            example, tokenizer, is_seq2seq=is_seq2seq, max_length=max_length, use_chat_template=use_chat_template
        )
        if features is None:
            result.n_skipped += 1
            continue
        result.n_truncated += int(truncated)
        result.features.append(features)
    return result


class ListDataset(torch.utils.data.Dataset):
    def __init__(self, features: list[dict]):
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict:
        return self.features[index]


@dataclass
class CompletionOnlyCollator:
    """Pads ``input_ids`` (pad id, mask 0) and ``labels`` (-100) on the right into a batch; with
    ``pad_to_multiple_of``, to the next multiple of it (never past ``max_length`` for a row that was
    within it), so a run meets few distinct sequence lengths."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None
    max_length: int | None = None

    def _padded(self, length: int) -> int:
        if not self.pad_to_multiple_of:
            return length
        rounded = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        return min(rounded, max(length, self.max_length)) if self.max_length else rounded

    def __call__(self, batch: list[dict]) -> dict[str, torch.Tensor]:
        longest = self._padded(max(len(item["input_ids"]) for item in batch))
        longest_labels = self._padded(max(len(item["labels"]) for item in batch))
        input_ids = torch.full((len(batch), longest), self.pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(batch), longest), dtype=torch.long)
        labels = torch.full((len(batch), longest_labels), IGNORE_INDEX, dtype=torch.long)
        for row, item in enumerate(batch):
            ids = item["input_ids"]
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention[row, : len(ids)] = 1
            labels[row, : len(item["labels"])] = torch.tensor(item["labels"], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def check_dataset_folder(data_dir: str | Path) -> Path:
    """Fail early (before loading a model) when ``data_dir`` is not a prepared dataset."""
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise DataError(
            f"Dataset folder {data_dir} does not exist; prepare one with `ift-desktop prepare --out {data_dir}`."
        )
    for name in ("train.jsonl", "manifest.json"):
        if not (data_dir / name).is_file():
            raise DataError(
                f"{data_dir} is not a prepared dataset ({name} is missing); make one with `ift-desktop prepare` "
                "or on the Data page."
            )
    return data_dir


DEFAULT_KEEP_WHOLE = 0.99  # the share of training examples an automatic max length keeps whole


def dataset_max_length(
    data_dir: str | Path,
    tokenizer,
    *,
    is_seq2seq: bool,
    use_chat_template: bool | None,
    state: TaskState | None = None,
) -> tuple[int, str]:
    """The max length a run on ``data_dir`` uses when none is set, and why (one phrase).

    The max length chosen on the dataset's statistics step (``max_length`` in manifest.json) when
    the dataset has one; otherwise the smallest multiple of 32 tokens that keeps 99 % of the
    training examples whole, measured with this tokenizer (the Train page and the CLI share it)."""
    data_dir = check_dataset_folder(data_dir)
    chosen = read_manifest(data_dir).get("max_length")
    if isinstance(chosen, int) and not isinstance(chosen, bool) and chosen >= 8:
        return chosen, "the max length chosen for this dataset"
    from ..data.stats import token_stats

    rows = read_split(data_dir, "train")
    if not rows:
        raise DataError(f"The training split {data_dir / 'train.jsonl'} is empty; prepare the dataset with more rows.")
    if state is not None:
        state.report(None, "Measuring the training examples' lengths")
    stats = token_stats(
        rows, tokenizer, max_length=512, is_seq2seq=is_seq2seq, use_chat_template=use_chat_template, state=state
    )
    length = stats.suggested_max_length(keep=DEFAULT_KEEP_WHOLE)
    return length, f"keeps {DEFAULT_KEEP_WHOLE:.0%} of the {len(rows):,} training examples whole"


@dataclass
class TrainingData:
    train: EncodedSplit
    validation: EncodedSplit
    manifest: dict
    chat_template: bool
    validation_examples: int  # validation rows read (before the eval_max_examples cap)


def load_training_data(
    data_dir: str | Path,
    tokenizer,
    *,
    is_seq2seq: bool,
    max_length: int,
    use_chat_template: bool | None,
    eval_max_examples: int | None,
    state: TaskState | None = None,
) -> TrainingData:
    """Read a prepared dataset folder and encode its train and validation splits."""
    data_dir = check_dataset_folder(data_dir)
    manifest = read_manifest(data_dir)
    train_rows = read_split(data_dir, "train")
    if not train_rows:
        raise DataError(f"The training split {data_dir / 'train.jsonl'} is empty; prepare the dataset with more rows.")
    validation_rows = read_split(data_dir, "validation") if (data_dir / "validation.jsonl").is_file() else []
    n_validation = len(validation_rows)
    if eval_max_examples is not None:
        validation_rows = validation_rows[:eval_max_examples]
    if use_chat_template and (is_seq2seq or not has_chat_template(tokenizer)):
        raise TrainingError("This model has no chat template; set 'Use the chat template' to no or auto.")
    chat = bool(not is_seq2seq and (has_chat_template(tokenizer) if use_chat_template is None else use_chat_template))
    common = dict(is_seq2seq=is_seq2seq, max_length=max_length, use_chat_template=use_chat_template, state=state)
    train = encode_split(train_rows, tokenizer, what="training examples", **common)
    if not train.features:
        raise TrainingError(
            f"Every training prompt is at least {max_length} tokens long, so nothing is left to learn; "
            "raise the max length."
        )
    validation = encode_split(validation_rows, tokenizer, what="validation examples", **common)
    validation.features.sort(key=_length)  # validation batches of similar lengths: little padding to compute
    return TrainingData(train, validation, manifest, chat, n_validation)


def _length(features: dict) -> tuple[int, int]:
    """Sort key: the encoder (or whole) length, then the decoder's labels (seq2seq)."""
    return len(features["input_ids"]), len(features.get("labels", ()))


def dropped_examples_message(split: EncodedSplit, max_length: int) -> str:
    """What the user should know about examples left out because their prompt alone fills ``max_length``."""
    return (
        f"{split.n_skipped} of {split.n_examples} training examples are left out: their prompt alone is at least "
        f"{max_length} tokens, so no answer token would remain to learn from. Raise the max length to keep them."
    )


def feature_tokens(feature: dict, is_seq2seq: bool) -> int:
    """The tokens of one encoded example as :func:`count_tokens` counts them in a batch."""
    tokens = len(feature["input_ids"])
    if is_seq2seq and "labels" in feature:
        tokens += sum(1 for label in feature["labels"] if label != IGNORE_INDEX)
    return tokens


def count_tokens(batch: dict, is_seq2seq: bool) -> torch.Tensor:
    """Non-padding tokens through the model in a batch (encoder + decoder for seq2seq)."""
    if "real_tokens" in batch:  # a packed batch (packing.py): its 4D mask does not say which are padding
        return batch["real_tokens"]
    tokens = batch["attention_mask"].sum()
    if is_seq2seq and "labels" in batch:
        tokens = tokens + (batch["labels"] != IGNORE_INDEX).sum()
    return tokens
