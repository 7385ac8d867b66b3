"""One training run, top to bottom: set up → load → fit → save (the litgpt shape).

``run_training`` loads the base model and the prepared dataset, wraps the model in a LoRA adapter
(peft) or trains all of it, and runs the Hugging Face ``Trainer`` (``Seq2SeqTrainer`` for T5-style
models) with an :class:`EventCallback` that reports events, writes ``metrics.jsonl`` and honours
pause / stop. It writes the run folder of DESIGN.md and returns a :class:`TrainingResult`.
Expected failures (bad data, NaN loss, out of memory) raise :class:`TrainingError` with a next step.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
from transformers import PrinterCallback

from ..atomic import atomic_directory
from ..errors import Cancelled, TrainingError, UserError
from ..models import ModelSpec, choose_device, count_parameters, describe_device, load_model
from ..models.consent import remember_for_run
from ..models.device import free_accelerator_memory, training_precision
from ..models.memory import default_lora_targets
from ..progress import TaskState
from .callbacks import EventCallback, TrainingControl
from .config import TrainConfig, smaller_batch_config
from .data import (
    CompletionOnlyCollator,
    ListDataset,
    check_dataset_folder,
    count_tokens,
    dataset_max_length,
    dropped_examples_message,
    load_training_data,
)
from .head_loss import completion_loss, supports_completion_head
from .packing import PackingCollator
from .probes import generate_answers
from .rank_sync import save_sharded_artifact, sum_over_ranks
from .ranks import PROCESS_GROUP_TIMEOUT_S, is_main_process, run_folder_for_this_process, world_size
from .run_folder import RunFolder, library_versions, now_iso
from .run_lock import RunLock
from .run_record_guard import check_steps_left, kept_on_failed_resume, known_failure, record_failure
from .time_limit import TimeLimit, limit_seconds

log = logging.getLogger(__name__)
_NEVER = 10**9  # an interval longer than any run: "only at the end"


@dataclass
class TrainingResult:
    status: str  # "finished" | "stopped"
    run_dir: Path
    global_step: int
    max_steps: int
    final_loss: float | None
    final_eval_loss: float | None
    artifact_dir: Path | None  # RUN/adapter or RUN/model
    checkpoint: Path | None  # the last checkpoint (resume point)
    elapsed_s: float
    metrics: list[dict] = field(default_factory=list)


def _trainer_class(
    is_seq2seq: bool, *, completion_head: bool = False, autocast: tuple[str, torch.dtype] | None = None
):
    """The Trainer for this run: counts the tokens it trains on; with ``completion_head`` the loss of a
    causal LM applies the output head only at completion positions (head_loss.py); with ``autocast``
    (device type, dtype) the forward passes of training and evaluation run under autocast (the fp32
    weights stay). The Trainer's own mixed precision wraps ``model.forward``, which the
    completion-only loss does not call, so the autocast is entered here around every loss."""
    from transformers import Seq2SeqTrainer, Trainer  # noqa: I001

    base = Seq2SeqTrainer if is_seq2seq else Trainer

    class CountingTrainer(base):
        """Counts the non-padding tokens it trains on (kept on the device; read at log time)."""

        tokens_seen: torch.Tensor | None = None
        # completion_loss divides by num_items_in_batch (the whole accumulated batch) when it is given
        loss_is_scaled_for_ga = True if completion_head else None

        def training_step(self, model, inputs, num_items_in_batch=None):
            counted = count_tokens(inputs, is_seq2seq).detach()
            self.tokens_seen = counted if self.tokens_seen is None else self.tokens_seen + counted
            return super().training_step(model, inputs, num_items_in_batch)

        def autocast_smart_context_manager(self, cache_enabled: bool | None = True):
            if autocast is None:
                return super().autocast_smart_context_manager(cache_enabled)
            device_type, dtype = autocast
            return torch.autocast(device_type, dtype=dtype, cache_enabled=cache_enabled)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if not completion_head or "labels" not in inputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            if num_items_in_batch is None and model.training:
                loss = completion_loss(model, inputs) / self.current_gradient_accumulation_steps
            else:
                loss = completion_loss(model, inputs, num_items_in_batch)
            return (loss, {"loss": loss}) if return_outputs else loss

    return CountingTrainer


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def out_of_memory_error(config: TrainConfig) -> TrainingError:
    retry = smaller_batch_config(config)
    if retry is not None:
        hint = (
            f"Retry with batch size {retry.batch_size} and gradient accumulation {retry.grad_accum} "
            "(the same effective batch, half the memory per step)."
        )
    else:
        hint = "Lower the max length, turn on gradient checkpointing, or use LoRA instead of full fine-tuning."
    return TrainingError("The device ran out of memory during training; memory was freed.", hint=hint)


def _wrap_lora(model, config: TrainConfig, is_seq2seq: bool):
    from peft import LoraConfig, TaskType, get_peft_model

    targets = config.lora_target_modules or default_lora_targets(model)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        task_type=TaskType.SEQ_2_SEQ_LM if is_seq2seq else TaskType.CAUSAL_LM,
    )
    try:
        return get_peft_model(model, lora), targets
    except ValueError as exc:
        raise TrainingError(f"LoRA target layers {targets} do not fit this model ({exc}).".replace("\n", " ")) from None


def _training_arguments(config: TrainConfig, run: RunFolder, device: torch.device, dtype, has_eval: bool):
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


def _collator(config: TrainConfig, tokenizer, *, packed: bool):
    """Packed rows (packing.py) when asked for and the completion-only loss reads them, else padded rows."""
    if config.packing and packed:
        return PackingCollator(tokenizer.pad_token_id, config.max_length)
    return CompletionOnlyCollator(tokenizer.pad_token_id)


def _time_limit(config: TrainConfig) -> list:
    """The time-limit callback of a run without a step limit, if it has a time limit (it goes before the
    progress bridge, which reads the step count it fits)."""
    seconds = limit_seconds(config.time_limit_minutes)
    return [TimeLimit(seconds)] if seconds is not None and config.max_steps is None else []


def _save_artifact(model, tokenizer, target: Path) -> None:
    with atomic_directory(target) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)


def run_training(
    config: TrainConfig,
    *,
    data_dir: str | Path,
    model: ModelSpec,
    out_dir: str | Path,
    on_event: Callable[[dict], None] | None = None,
    control: TrainingControl | None = None,
    resume: bool = False,
    state: TaskState | None = None,
    callbacks: list | None = None,
) -> TrainingResult:
    """Fine-tune ``model`` on the prepared dataset ``data_dir`` into the run folder ``out_dir``.

    Events go to ``on_event`` (see docs/ARCHITECTURE.md); every failure also ends with a
    ``{"type": "status", "status": "failed"}`` event before the exception propagates."""
    ended: list[str] = []

    def emit(event: dict) -> None:
        if event.get("type") == "status" and event.get("status") in ("failed", "stopped", "finished"):
            ended.append(event["status"])
        if on_event is not None:
            on_event(event)

    main = is_main_process()  # in a launched run rank 0 alone holds the folder and keeps its record
    lock = RunLock(out_dir) if main else None  # one process per run folder; the OS drops it when it ends
    try:
        if lock is not None:
            lock.acquire()
        with kept_on_failed_resume(RunFolder(out_dir), resume) if main else contextlib.nullcontext():
            return _run(config, data_dir, model, out_dir, emit, control or TrainingControl(), resume, state, callbacks)
    except Cancelled:
        raise
    except BaseException as exc:
        if not ended:
            message = exc.one_line() if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            emit({"type": "status", "status": "failed", "message": message})
        raise
    finally:
        if lock is not None:
            lock.release()


def _run(config, data_dir, model, out_dir, emit, control, resume, state, callbacks) -> TrainingResult:
    run = run_folder_for_this_process(out_dir, config)  # only rank 0 writes in a launched run
    checkpoint, previous = None, {}
    if resume:
        previous = run.read_record()
        checkpoint = run.last_checkpoint()
        if checkpoint is None:
            raise TrainingError(
                f"Run {run.path.name} has no checkpoint to resume from (it ended before its first one); "
                "start it again from the beginning in the same folder, without resuming."
            )
        check_steps_left(config, previous, checkpoint, run)
        if previous.get("config", {}).get("method", config.method) != config.method:
            raise TrainingError(
                f"Run {run.path.name} was trained with method '{previous['config']['method']}'; resume it with the same method."
            )
        if previous.get("model") and not ModelSpec.from_dict(previous["model"]).same_model(model):
            raise TrainingError(
                f"Run {run.path.name} was trained from {previous['model']['name_or_path']}; resume it with that model."
            )
    elif run.check_new():  # a run that died before its first checkpoint starts again from the beginning
        run.clear_unstarted()
        emit({"type": "warning", "message": f"{run.path.name} ended before its first checkpoint; starting it again from the beginning."})
    folder_existed = run.path.is_dir()
    check_dataset_folder(data_dir)

    emit({"type": "status", "status": "loading", "message": f"Loading {model.display_name}"})
    device = choose_device(config.device)
    precision = training_precision(device, config.precision)
    dtype = precision.dtype
    # Full fine-tuning keeps fp32 master weights (bf16/fp16 run as autocast); LoRA freezes the base,
    # so on a GPU the base can sit in the low precision while peft keeps the adapters in fp32. On the
    # CPU every weight stays fp32 and bf16 runs as autocast.
    load_dtype = torch.float32 if config.method == "full" or device.type == "cpu" else dtype
    loaded = load_model(model, for_training=True, dtype=load_dtype, device=device, state=state)
    remember_for_run(model, run.path)  # the user allowed this model's code: their run may use it later
    base = loaded.model
    if hasattr(base, "merge_and_unload"):  # training on top of a LoRA run: fold its adapter in first
        base = base.merge_and_unload()
    if config.max_length is None:
        max_length, why = dataset_max_length(
            data_dir, loaded.tokenizer, is_seq2seq=loaded.is_seq2seq, use_chat_template=config.use_chat_template,
            state=state,
        )
        config = replace(config, max_length=max_length)  # the run folder keeps the length it ran with
        emit({"type": "status", "status": "tokenizing", "message": f"Max length {max_length} tokens ({why})"})
    emit({"type": "status", "status": "tokenizing", "message": "Tokenizing the training and validation examples"})
    data = load_training_data(
        data_dir,
        loaded.tokenizer,
        is_seq2seq=loaded.is_seq2seq,
        max_length=config.max_length,
        use_chat_template=config.use_chat_template,
        eval_max_examples=config.eval_max_examples,
        state=state,
    )
    if data.train.n_skipped:
        emit({"type": "warning", "message": dropped_examples_message(data.train, config.max_length)})
    targets = None
    # seed before the adapter is created: its starting weights are random draws, and the Trainer
    # only seeds later, so without this the same seed gave different runs within one session
    from transformers import set_seed

    set_seed(config.seed)
    if config.method == "lora":
        base, targets = _wrap_lora(base, config, loaded.is_seq2seq)
    else:
        for parameter in base.parameters():
            parameter.requires_grad_(True)
    trainable, total = count_parameters(base)
    has_eval = bool(data.validation.features)

    record = dict(previous)
    record.update(
        {
            "status": "running",
            "config": config.to_dict(),
            "model": model.to_dict(),
            "model_name": model.display_name,
            "method": config.method,
            "is_seq2seq": loaded.is_seq2seq,
            "chat_template": data.chat_template,
            "lora_target_modules": targets,
            "trainable_params": trainable,
            "total_params": total,
            "data": {
                "dir": str(Path(data_dir).resolve()),
                "manifest": data.manifest,
                "train_examples": data.train.n_examples,
                "validation_examples": data.validation_examples,
                "eval_examples_used": len(data.validation.features),
                "truncated": data.train.n_truncated,
                "skipped_too_long": data.train.n_skipped,
            },
            "versions": library_versions(),
            "device": vars(describe_device(device))
            | {"dtype": str(dtype).replace("torch.", ""), "precision": precision.name, "precision_reason": precision.reason},
        }
    )
    record.setdefault("created", now_iso())
    elapsed_offset = 0.0
    if resume:
        kept = run.cut_logs_after(int(checkpoint.name.split("-")[-1]))
        elapsed_offset = float(kept[-1].get("elapsed_s", 0.0)) if kept else 0.0
        record.setdefault("resumed", []).append({"from": checkpoint.name, "at": now_iso()})
    run.path.mkdir(parents=True, exist_ok=True)
    run.write_record(record)

    tokenizer = loaded.tokenizer
    # in a launched run the model is called through its DDP/FSDP/DeepSpeed wrapper, so it keeps its own loss
    completion_head = supports_completion_head(base) and world_size() == 1
    trainer_cls = _trainer_class(
        loaded.is_seq2seq,
        completion_head=completion_head,
        autocast=(device.type, dtype) if precision.autocast and device.type in ("cpu", "cuda") else None,
    )
    holder: dict = {}
    probe_seconds: list[float] = []

    def tokens_seen() -> int:
        counted = getattr(holder.get("trainer"), "tokens_seen", None)
        return int(sum_over_ranks(counted).item()) if counted is not None else 0  # every rank's tokens

    def probe(step: int, current_model) -> None:
        if not config.probe_prompts:
            return
        count = len(config.probe_prompts)
        emit({"type": "status", "status": "probing",
              "message": f"Answering {count} probe prompt{'s' if count != 1 else ''} at step {step}…"})
        probe_started = time.monotonic()
        answers = generate_answers(
            current_model,
            tokenizer,
            config.probe_prompts,
            is_seq2seq=loaded.is_seq2seq,
            use_chat_template=config.use_chat_template,
            max_new_tokens=config.probe_max_new_tokens,
        )
        row = {"step": step, "answers": answers}
        probe_seconds.append(time.monotonic() - probe_started)
        run.append_probe(row)
        emit({"type": "probe", **row})

    class _Stoppable(TrainingControl):  # the caller's control, or the TaskState's cancel
        def stop_requested(self) -> bool:
            return control.stop_requested() or bool(state and state.is_cancelled())

        def is_paused(self) -> bool:
            return control.is_paused()

        def wait_while_paused(self, timeout: float = 0.1) -> bool:
            return control.wait_while_paused(timeout) or self.stop_requested()

    bridge = EventCallback(
        emit=emit,
        control=_Stoppable(),
        tokens_seen=tokens_seen,
        on_metrics=run.append_metrics,
        on_evaluated=probe,
        elapsed_offset=elapsed_offset,
        eval_batches_total=-(-len(data.validation.features) // config.batch_size) if has_eval else 0,
    )
    trainer = trainer_cls(
        model=base,
        args=_training_arguments(config, run, device, dtype, has_eval),
        data_collator=_collator(config, tokenizer, packed=completion_head),
        train_dataset=ListDataset(data.train.features),
        eval_dataset=ListDataset(data.validation.features) if has_eval else None,
        processing_class=tokenizer,
        callbacks=[*_time_limit(config), bridge, *(callbacks or [])],
    )
    trainer.remove_callback(PrinterCallback)  # the bridge reports; no raw dicts on stdout
    holder["trainer"] = trainer

    if control.stop_requested() or (state and state.is_cancelled()):
        if resume:
            run.update_record(status="stopped")
        elif is_main_process():  # nothing was trained: leave no half-made run behind (the folder was empty before)
            shutil.rmtree(run.path, ignore_errors=True)
            if folder_existed:
                run.path.mkdir(parents=True, exist_ok=True)
        emit({"type": "status", "status": "stopped", "message": "Stopped before training started."})
        raise Cancelled()
    if not resume:
        probe(0, base)
    started = time.monotonic()
    emit(
        {
            "type": "status",
            "status": "started",
            "message": f"Training {model.display_name} with {config.method} "
            f"({trainable:,} of {total:,} weights trainable) on {describe_device(device).name}",
            "precision": precision.name,
            "precision_reason": precision.reason,
        }
    )
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    except BaseException as exc:
        oom = _is_out_of_memory(exc)
        failed_step = int(trainer.state.global_step or 0)
        del trainer
        holder.clear()
        free_accelerator_memory()
        error = out_of_memory_error(config) if oom else (known_failure(exc, run, failed_step) or exc)
        message = error.one_line() if isinstance(error, UserError) else f"{type(exc).__name__}: {exc}"
        record_failure(run, message)
        emit({"type": "status", "status": "failed", "message": message})
        if error is not exc:
            raise error from None
        raise

    global_step = int(trainer.state.global_step)
    metrics = run.read_metrics()
    if bridge.nan_step is not None:
        message = (
            f"The training loss became NaN or infinite at step {bridge.nan_step}, so the run was stopped. "
            f"Lower the learning rate (now {config.learning_rate:g})"
            + (" or use fp32 precision." if dtype != torch.float32 else ", or check the data for empty completions.")
        )
        run.update_record(status="failed", error=message, global_step=global_step, finished=now_iso())
        emit({"type": "status", "status": "failed", "message": message})
        raise TrainingError(message)

    status = "stopped" if bridge.stopped_by_user else "finished"
    artifact = run.artifact_dir(config.method)
    if is_main_process():
        emit({"type": "status", "status": "saving",
              "message": f"Saving the {'adapter' if config.method == 'lora' else 'model'}…"})
    if not save_sharded_artifact(trainer, tokenizer, artifact) and is_main_process():
        _save_artifact(trainer.model, tokenizer, artifact)
    losses = [row["loss"] for row in metrics if row.get("loss") is not None]
    evals = [row["eval_loss"] for row in metrics if row.get("eval_loss") is not None]
    last_checkpoint = run.last_checkpoint()
    elapsed = elapsed_offset + (time.monotonic() - started)
    session_s = max(1e-9, time.monotonic() - started)
    checks = {"validation_s": round(bridge.validation_s, 2), "probes_s": round(sum(probe_seconds), 2)}
    share = (checks["validation_s"] + checks["probes_s"]) / session_s
    run.update_record(
        **checks,
        status=status,
        global_step=global_step,
        max_steps=int(trainer.state.max_steps),
        final_loss=losses[-1] if losses else None,
        final_eval_loss=evals[-1] if evals else None,
        artifact=artifact.name,
        last_checkpoint=str(last_checkpoint.relative_to(run.path)) if last_checkpoint else None,
        elapsed_s=round(elapsed, 2),
        finished=now_iso(),
        error=None,
    )
    emit(
        {
            "type": "status",
            "status": status,
            "message": f"{'Finished' if status == 'finished' else 'Stopped'} at step {global_step}; "
            f"saved the {'adapter' if config.method == 'lora' else 'model'} to {artifact}"
            + (f"; validation and probes took {share:.0%} of the time" if share >= 0.005 else ""),
        }
    )
    del trainer
    free_accelerator_memory()
    return TrainingResult(
        status=status,
        run_dir=run.path,
        global_step=global_step,
        max_steps=int(bridge.max_steps),
        final_loss=losses[-1] if losses else None,
        final_eval_loss=evals[-1] if evals else None,
        artifact_dir=artifact,
        checkpoint=last_checkpoint,
        elapsed_s=round(elapsed, 2),
        metrics=metrics,
    )
