"""The Hugging Face ``Trainer`` as a run uses it: the trainer class, its arguments and the LoRA wrap.

:func:`trainer_class` returns ``Trainer`` (``Seq2SeqTrainer`` for T5-style models) with
:class:`CountingTrainer` mixed in: it counts the tokens it trains on, can apply the output head
only at completion positions (head_loss.py), runs the forward passes under autocast and takes its
length-grouped batches in random order (batch_order.py).
"""

from __future__ import annotations

import torch

from ..errors import TrainingError
from ..models.memory import default_lora_targets, last_layers
from .batch_order import shuffled
from .config import TrainConfig
from .data import count_tokens
from .head_loss import completion_loss
from .ranks import PROCESS_GROUP_TIMEOUT_S
from .run_folder import RunFolder

_NEVER = 10**9  # an interval longer than any run: "only at the end"


class CountingTrainer:
    """Mixed in before ``Trainer``: counts the non-padding tokens it trains on (kept on the device;
    read at log time). With ``completion_head`` the loss of a causal LM applies the output head only
    at completion positions; with ``autocast`` (device type, dtype) the forward passes of training and
    evaluation run under autocast (the fp32 weights stay). The Trainer's own mixed precision wraps
    ``model.forward``, which the completion-only loss does not call, so the autocast is entered here
    around every loss."""

    is_seq2seq = False
    completion_head = False
    autocast: tuple[str, torch.dtype] | None = None
    tokens_seen: torch.Tensor | None = None

    def training_step(self, model, inputs, num_items_in_batch=None):
        counted = count_tokens(inputs, self.is_seq2seq).detach()
        self.tokens_seen = counted if self.tokens_seen is None else self.tokens_seen + counted
        return super().training_step(model, inputs, num_items_in_batch)

    def _get_train_sampler(self, train_dataset=None):
        return shuffled(super()._get_train_sampler(train_dataset), processes=self.args.world_size)

    def autocast_smart_context_manager(self, cache_enabled: bool | None = True):
        if self.autocast is None:
            return super().autocast_smart_context_manager(cache_enabled)
        device_type, dtype = self.autocast
        return torch.autocast(device_type, dtype=dtype, cache_enabled=cache_enabled)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if not self.completion_head or "labels" not in inputs:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if num_items_in_batch is None and model.training:
            loss = completion_loss(model, inputs) / self.current_gradient_accumulation_steps
        else:
            loss = completion_loss(model, inputs, num_items_in_batch)
        return (loss, {"loss": loss}) if return_outputs else loss


def trainer_class(is_seq2seq: bool, *, completion_head: bool = False, autocast: tuple[str, torch.dtype] | None = None):
    """The Trainer class of this run (see :class:`CountingTrainer`)."""
    from transformers import Seq2SeqTrainer, Trainer

    base = Seq2SeqTrainer if is_seq2seq else Trainer
    settings = {
        "is_seq2seq": is_seq2seq,
        "completion_head": completion_head,
        "autocast": autocast,
        # completion_loss divides by num_items_in_batch (the whole accumulated batch) when it is given
        "loss_is_scaled_for_ga": True if completion_head else None,
    }
    return type("CountingTrainer", (CountingTrainer, base), settings)


def wrap_lora(model, config: TrainConfig, is_seq2seq: bool):
    """``(peft model, target layer names)``: LoRA adapters of ``config`` on ``model``."""
    from peft import LoraConfig, TaskType, get_peft_model

    targets = config.lora_target_modules or default_lora_targets(model)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        layers_to_transform=last_layers(model.config, config.lora_layers),
        task_type=TaskType.SEQ_2_SEQ_LM if is_seq2seq else TaskType.CAUSAL_LM,
    )
    try:
        return get_peft_model(model, lora), targets
    except ValueError as exc:
        raise TrainingError(f"LoRA target layers {targets} do not fit this model ({exc}).".replace("\n", " ")) from None


def training_arguments(config: TrainConfig, run: RunFolder, device: torch.device, dtype, has_eval: bool):
    from transformers import Seq2SeqTrainingArguments

    return Seq2SeqTrainingArguments(
        output_dir=str(run.checkpoints_dir),
        max_steps=config.max_steps if config.max_steps is not None else -1,
        num_train_epochs=config.epochs,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_schedule,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        train_sampling_strategy="group_by_length",  # batches of similar lengths: little padding
        prediction_loss_only=True,
        gradient_accumulation_steps=config.grad_accum,
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        logging_nan_inf_filter=False,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=(config.eval_steps or _NEVER) if has_eval else None,
        save_strategy="steps",
        save_steps=config.save_steps or _NEVER,
        save_total_limit=config.save_total_limit,
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        bf16=dtype == torch.bfloat16 and device.type != "cpu",
        fp16=dtype == torch.float16,
        use_cpu=device.type == "cpu",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=device.type == "cuda",
        remove_unused_columns=False,
        label_names=["labels"],
        log_level="error",
        ddp_timeout=PROCESS_GROUP_TIMEOUT_S,  # a launched run whose peer died ends instead of hanging
        ddp_find_unused_parameters=False,  # every trainable weight takes part in each step
    )
