"""One training run, top to bottom: check → load → record → fit → save (the litgpt shape).

``run_training`` loads the base model and the prepared dataset, wraps the model in a LoRA adapter
(peft) or trains all of it, and runs the Hugging Face ``Trainer`` (hf_trainer.py) with an
:class:`EventCallback` that reports events, writes ``metrics.jsonl`` and honours pause / stop. It
writes the run folder of DESIGN.md and returns a :class:`TrainingResult`. ``_run`` reads as the list
of its steps; each step is a small function below it, in the order they run. Expected failures (bad
data, NaN loss) raise :class:`TrainingError` with a next step; out of memory raises
:class:`TrainingOutOfMemory`, which carries a run that needs less memory.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from transformers import PrinterCallback

from ..atomic import atomic_directory
from ..errors import Cancelled, TrainingError, UserError
from ..models import ModelSpec, choose_device, count_parameters, describe_device, load_model
from ..models.consent import remember_for_run
from ..models.device import free_accelerator_memory, training_precision
from ..models.memory import auto_lora_layers, estimate_memory
from ..progress import TaskState
from ..provenance import library_versions, now_iso
from .allocator import MemoryUse, apply_memory_use, memory_use_for
from .callbacks import CancellableControl, EventCallback, HeldMemoryTrim, TrainerTokens, TrainingControl
from .config import TrainConfig
from .data import (
    CompletionOnlyCollator,
    ListDataset,
    TrainingData,
    check_dataset_folder,
    dataset_max_length,
    dropped_examples_message,
    feature_tokens,
    load_training_data,
)
from .head_loss import supports_completion_head
from .hf_trainer import trainer_class, training_arguments, wrap_lora
from .out_of_memory import is_out_of_memory, out_of_memory_error
from .packing import PackingCollator
from .probes import generate_answers
from .rank_sync import save_sharded_artifact, sum_over_ranks
from .ranks import is_main_process, run_folder_for_this_process, world_size
from .run_folder import RunFolder
from .run_lock import RunLock
from .run_record_guard import check_steps_left, kept_on_failed_resume, known_failure, record_failure
from .time_limit import EpochTokens, TimeLimit, limit_seconds

log = logging.getLogger(__name__)
BF16_CPU_LENGTH_MULTIPLE = 32  # see length_multiple


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


@dataclass
class _Prepared:
    """What a run trains: its config (max length resolved), the model made trainable and the data."""

    config: TrainConfig
    device: torch.device
    precision: object  # models.device.Precision: dtype, name, reason, autocast
    loaded: object  # models.LoadedModel: tokenizer, is_seq2seq
    model: object  # the model to train: LoRA-wrapped, or every weight trainable
    data: TrainingData
    lora_targets: list[str] | None
    memory_use: MemoryUse

    @property
    def dtype(self) -> torch.dtype:
        return self.precision.dtype

    @property
    def has_eval(self) -> bool:
        return bool(self.data.validation.features)

    @property
    def eval_batches(self) -> int:
        """Batches of one validation (0 without a validation split)."""
        return -(-len(self.data.validation.features) // self.config.batch_size) if self.has_eval else 0


def _collator(config: TrainConfig, tokenizer, *, packed: bool, pad_to_multiple_of: int | None = None):
    """Packed rows (packing.py) when asked for and the completion-only loss reads them, else padded rows."""
    if config.packing and packed:
        return PackingCollator(tokenizer.pad_token_id, config.max_length)
    return CompletionOnlyCollator(tokenizer.pad_token_id, pad_to_multiple_of, config.max_length)


def length_multiple(device: torch.device, dtype: torch.dtype) -> int | None:
    """The multiple a batch's length is padded to: 32 where a CPU computes in bf16. oneDNN (torch's bf16 CPU
    kernels) keeps memory for every sequence length it has met, so an unpadded run grows with each new
    length (a bf16 step's floor 0.74 → 1.06 GiB in 24 steps, none in fp32) and reuses fewer kernels;
    padded to 32 the floor stays near 0.8 GiB and the default run's epoch took 345 s instead of 494
    (benchmarks/RESULTS.md). The padding is on the right with labels -100: the loss is unchanged."""
    return BF16_CPU_LENGTH_MULTIPLE if device.type == "cpu" and dtype == torch.bfloat16 else None


def _epoch_tokens(prepared: _Prepared, tokens: TrainerTokens) -> EpochTokens:
    """The tokens of one pass over the training split, against those the Trainer has counted (the pace of
    the steps to come)."""
    is_seq2seq = prepared.loaded.is_seq2seq
    return EpochTokens(sum(feature_tokens(f, is_seq2seq) for f in prepared.data.train.features), tokens)


def _time_limit(prepared: _Prepared, bridge: EventCallback, epoch_tokens: EpochTokens) -> list:
    """The time-limit callback of a run without a step limit, if it has a time limit (it goes before the
    progress bridge, which reads the step count it fits)."""
    config = prepared.config
    seconds = limit_seconds(config.time_limit_minutes)
    if seconds is None or config.max_steps is not None:
        return []
    return [TimeLimit(seconds, eval_batches=prepared.eval_batches, paused_s=bridge.paused_s, epoch_tokens=epoch_tokens)]


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
    checkpoint, previous = _check_resume(run, config, model) if resume else _check_new(run, emit)
    folder_existed = run.path.is_dir()
    check_dataset_folder(data_dir)
    prepared = _prepare(config, data_dir, model, run, emit, state)
    elapsed_offset = _write_start_record(run, prepared, model, data_dir, previous, checkpoint)
    stop = CancellableControl(control, state.is_cancelled if state is not None else None)
    probes = _Probes(prepared, run, emit)
    tokens = TrainerTokens(sum_over_ranks)  # every rank's tokens
    bridge = EventCallback(
        emit=emit,
        control=stop,
        tokens_seen=tokens,
        on_metrics=run.append_metrics,
        on_evaluated=probes,
        elapsed_offset=elapsed_offset,
        eval_batches_total=prepared.eval_batches,
    )
    epoch_tokens = _epoch_tokens(prepared, tokens)
    bridge.epoch_tokens = epoch_tokens
    limits = _time_limit(prepared, bridge, epoch_tokens)
    if limits:  # the ETA follows the limit's plan, which counts the validation at the end too
        bridge.planned_seconds_left = lambda: limits[0].seconds_left
    trim_above = prepared.memory_use.trim_above_bytes
    trims = [HeldMemoryTrim(trim_above)] if trim_above else []  # a fast CPU process stays near its planned peak
    trainer = _build_trainer(prepared, run, [epoch_tokens, *limits, *trims, bridge, *(callbacks or [])])
    tokens.watch(trainer)
    if stop.stop_requested():
        _stop_before_start(run, resume, folder_existed, emit)
    if not resume:
        probes(0, prepared.model)
    started = time.monotonic()
    _announce_start(prepared, model, emit)
    _fit(trainer, tokens, checkpoint, run, prepared.config, emit)
    _fail_on_nan_loss(bridge, trainer, run, prepared, emit)
    result = _save_and_finish(trainer, bridge, probes, run, prepared, emit, started, elapsed_offset)
    del trainer
    tokens.release()
    free_accelerator_memory()
    return result


# ------------------------------------------------------------------------------------ the checks
def _check_resume(run: RunFolder, config: TrainConfig, model: ModelSpec) -> tuple[Path, dict]:
    """``(checkpoint, earlier record)`` of a run to continue; refuses one that cannot be continued
    with these settings."""
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
    return checkpoint, previous


def _check_new(run: RunFolder, emit) -> tuple[None, dict]:
    """A new run's folder must hold no run; one that died before its first checkpoint starts again."""
    if run.check_new():
        run.clear_unstarted()
        emit(
            {
                "type": "warning",
                "message": f"{run.path.name} ended before its first checkpoint; starting it again from the beginning.",
            }
        )
    return None, {}


# ------------------------------------------------------------------------------------ loading
def _prepare(config: TrainConfig, data_dir, model: ModelSpec, run: RunFolder, emit, state) -> _Prepared:
    """Load the model and the data, and make the model trainable (LoRA adapters or every weight)."""
    emit({"type": "status", "status": "loading", "message": f"Loading {model.display_name}"})
    device = choose_device(config.device)
    precision = training_precision(device, config.precision)
    # Full fine-tuning keeps fp32 master weights (bf16/fp16 run as autocast); LoRA freezes the base, so
    # the base sits in the precision of the arithmetic (GPU and CPU alike) while peft keeps the adapters
    # in fp32: no cast of every frozen weight in every pass, half the weights' memory.
    load_dtype = precision.dtype if config.method == "lora" else torch.float32
    loaded = load_model(model, for_training=True, dtype=load_dtype, device=device, state=state)
    remember_for_run(model, run.path)  # the user allowed this model's code: their run may use it later
    base = loaded.model
    if hasattr(base, "merge_and_unload"):  # training on top of a LoRA run: fold its adapter in first
        base = base.merge_and_unload()
    config = _resolve_max_length(config, data_dir, loaded, emit, state)
    data = _tokenize(config, data_dir, loaded, emit, state)
    if config.method == "lora" and config.lora_layers is None:  # auto: recorded as the count used
        config = replace(config, lora_layers=auto_lora_layers(base.config, device.type))
    trainable, targets = _make_trainable(base, config, loaded.is_seq2seq)
    memory_use = _memory_use(config, device, precision, trainable, targets)
    apply_memory_use(memory_use)
    return _Prepared(config, device, precision, loaded, trainable, data, targets, memory_use)


def _memory_use(config: TrainConfig, device: torch.device, precision, model, targets) -> MemoryUse:
    """Whether this process gives freed memory back to the system (allocator.py), from the run's estimate."""
    estimate = estimate_memory(
        model,
        method=config.method,
        batch_size=config.batch_size,
        max_length=config.max_length,
        lora_r=config.lora_r,
        target_modules=targets,
        dtype=precision.dtype,
        gradient_checkpointing=config.gradient_checkpointing,
        device_kind=device.type,
        lora_dropout=config.lora_dropout,
        lora_layers=config.lora_layers,
    )
    return memory_use_for(config.memory, estimate, device.type)


def _resolve_max_length(config: TrainConfig, data_dir, loaded, emit, state) -> TrainConfig:
    """The config with its max length: the one set, else the dataset's (kept in the run folder)."""
    if config.max_length is not None:
        return config
    max_length, why = dataset_max_length(
        data_dir, loaded.tokenizer, is_seq2seq=loaded.is_seq2seq, use_chat_template=config.use_chat_template,
        state=state,
    )  # fmt: skip
    emit({"type": "status", "status": "tokenizing", "message": f"Max length {max_length} tokens ({why})"})
    return replace(config, max_length=max_length)


def _tokenize(config: TrainConfig, data_dir, loaded, emit, state) -> TrainingData:
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
    return data


def _make_trainable(base, config: TrainConfig, is_seq2seq: bool):
    """``(model to train, LoRA target layers or None)``."""
    # seed before the adapter is created: its starting weights are random draws, and the Trainer
    # only seeds later, so without this the same seed gave different runs within one session
    from transformers import set_seed

    set_seed(config.seed)
    if config.method == "lora":
        return wrap_lora(base, config, is_seq2seq)
    for parameter in base.parameters():
        parameter.requires_grad_(True)
    return base, None


# ------------------------------------------------------------------------------- the start record
def _write_start_record(
    run: RunFolder, prepared: _Prepared, model: ModelSpec, data_dir, previous: dict, checkpoint: Path | None
) -> float:
    """Write ``run.json`` as the run starts (status running); returns the training seconds of the
    earlier sessions of a resumed run (its logs are cut back to the checkpoint)."""
    config, data = prepared.config, prepared.data
    trainable, total = count_parameters(prepared.model)
    record = dict(previous)
    record.update(
        {
            "status": "running",
            "config": config.to_dict(),
            "model": model.to_dict(),
            "model_name": model.display_name,
            "method": config.method,
            "is_seq2seq": prepared.loaded.is_seq2seq,
            "chat_template": data.chat_template,
            "lora_target_modules": prepared.lora_targets,
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
            "device": vars(describe_device(prepared.device))
            | {
                "dtype": str(prepared.dtype).replace("torch.", ""),
                "precision": prepared.precision.name,
                "precision_reason": prepared.precision.reason,
                "memory": prepared.memory_use.name,
                "memory_reason": prepared.memory_use.reason,
                "memory_peak_estimate_bytes": prepared.memory_use.peak_bytes,
            },
        }
    )
    record.setdefault("created", now_iso())
    elapsed_offset = 0.0
    if checkpoint is not None:
        kept = run.cut_logs_after(RunFolder.checkpoint_step(checkpoint))
        elapsed_offset = float(kept[-1].get("elapsed_s", 0.0)) if kept else 0.0
        record.setdefault("resumed", []).append({"from": checkpoint.name, "at": now_iso()})
    run.path.mkdir(parents=True, exist_ok=True)
    run.write_record(record)
    return elapsed_offset


# --------------------------------------------------------------------------------- the trainer
class _Probes:
    """Answers the probe prompts with the model being trained, at step 0 and after each evaluation;
    ``seconds`` is the time they took in this session."""

    def __init__(self, prepared: _Prepared, run: RunFolder, emit):
        self.prepared, self.run, self.emit = prepared, run, emit
        self.seconds = 0.0

    def __call__(self, step: int, current_model) -> None:
        config = self.prepared.config
        if not config.probe_prompts:
            return
        count = len(config.probe_prompts)
        self.emit({"type": "status", "status": "probing",
                   "message": f"Answering {count} probe prompt{'s' if count != 1 else ''} at step {step}…"})  # fmt: skip
        started = time.monotonic()
        answers = generate_answers(
            current_model,
            self.prepared.loaded.tokenizer,
            config.probe_prompts,
            is_seq2seq=self.prepared.loaded.is_seq2seq,
            use_chat_template=config.use_chat_template,
            max_new_tokens=config.probe_max_new_tokens,
        )
        row = {"step": step, "answers": answers}
        self.seconds += time.monotonic() - started
        self.run.append_probe(row)
        self.emit({"type": "probe", **row})


def _build_trainer(prepared: _Prepared, run: RunFolder, callbacks: list):
    device, dtype, data = prepared.device, prepared.dtype, prepared.data
    # in a launched run the model is called through its DDP/FSDP/DeepSpeed wrapper, so it keeps its own loss
    completion_head = supports_completion_head(prepared.model) and world_size() == 1
    cls = trainer_class(
        prepared.loaded.is_seq2seq,
        completion_head=completion_head,
        autocast=(device.type, dtype) if prepared.precision.autocast and device.type in ("cpu", "cuda") else None,
    )
    tokenizer = prepared.loaded.tokenizer
    trainer = cls(
        model=prepared.model,
        args=training_arguments(prepared.config, run, device, dtype, prepared.has_eval),
        data_collator=_collator(
            prepared.config, tokenizer, packed=completion_head, pad_to_multiple_of=length_multiple(device, dtype)
        ),
        train_dataset=ListDataset(data.train.features),
        eval_dataset=ListDataset(data.validation.features) if prepared.has_eval else None,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # the bridge reports; no raw dicts on stdout
    return trainer


def _stop_before_start(run: RunFolder, resume: bool, folder_existed: bool, emit) -> None:
    """Stop asked while loading: a resumed run keeps its record (stopped); a new one leaves nothing."""
    if resume:
        run.update_record(status="stopped")
    elif is_main_process():  # nothing was trained: leave no half-made run behind (the folder was empty before)
        shutil.rmtree(run.path, ignore_errors=True)
        if folder_existed:
            run.path.mkdir(parents=True, exist_ok=True)
    emit({"type": "status", "status": "stopped", "message": "Stopped before training started."})
    raise Cancelled()


def _announce_start(prepared: _Prepared, model: ModelSpec, emit) -> None:
    trainable, total = count_parameters(prepared.model)
    emit(
        {
            "type": "status",
            "status": "started",
            "message": f"Training {model.display_name} with {prepared.config.method} "
            f"({trainable:,} of {total:,} weights trainable) on {describe_device(prepared.device).name}",
            "precision": prepared.precision.name,
            "precision_reason": prepared.precision.reason,
            "memory": prepared.memory_use.name,
            "memory_reason": prepared.memory_use.reason,
        }
    )


# ------------------------------------------------------------------------------------ fitting
def _fit(trainer, tokens: TrainerTokens, checkpoint, run: RunFolder, config: TrainConfig, emit) -> None:
    """Train (from ``checkpoint`` when resuming). A failure frees the device memory, is recorded in
    ``run.json`` and raised as a :class:`UserError` when it is a known one (out of memory, disk full)."""
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    except BaseException as exc:
        failed_step = int(trainer.state.global_step or 0)
        tokens.release()
        free_accelerator_memory()
        error = out_of_memory_error(config) if is_out_of_memory(exc) else (known_failure(exc, run, failed_step) or exc)
        message = error.one_line() if isinstance(error, UserError) else f"{type(exc).__name__}: {exc}"
        record_failure(run, message)
        event = {"type": "status", "status": "failed", "message": message}
        if getattr(error, "retry_changes", None):
            event["retry"] = error.retry_changes  # a watcher in another process offers the retry too
        emit(event)
        if error is not exc:
            raise error from None
        raise


def _fail_on_nan_loss(bridge: EventCallback, trainer, run: RunFolder, prepared: _Prepared, emit) -> None:
    if bridge.nan_step is None:
        return
    message = (
        f"The training loss became NaN or infinite at step {bridge.nan_step}, so the run was stopped. "
        f"Lower the learning rate (now {prepared.config.learning_rate:g})"
        + (
            " or use fp32 precision."
            if prepared.dtype != torch.float32
            else ", or check the data for empty completions."
        )
    )
    global_step = int(trainer.state.global_step)
    run.update_record(status="failed", error=message, global_step=global_step, finished=now_iso())
    emit({"type": "status", "status": "failed", "message": message})
    raise TrainingError(message)


# ------------------------------------------------------------------------------------- saving
def _save_and_finish(trainer, bridge: EventCallback, probes: _Probes, run: RunFolder, prepared: _Prepared,
                     emit, started: float, elapsed_offset: float) -> TrainingResult:  # fmt: skip
    """Save the adapter (or model), complete ``run.json`` and say how the run ended."""
    config, tokenizer = prepared.config, prepared.loaded.tokenizer
    global_step = int(trainer.state.global_step)
    status = "stopped" if bridge.stopped_by_user else "finished"
    artifact = run.artifact_dir(config.method)
    what = "adapter" if config.method == "lora" else "model"
    if is_main_process():
        emit({"type": "status", "status": "saving", "message": f"Saving the {what}…"})
    if not save_sharded_artifact(trainer, tokenizer, artifact) and is_main_process():
        _save_artifact(trainer.model, tokenizer, artifact)
    metrics = run.read_metrics()
    losses = [row["loss"] for row in metrics if row.get("loss") is not None]
    evals = [row["eval_loss"] for row in metrics if row.get("eval_loss") is not None]
    last_checkpoint = run.last_checkpoint()
    session_s = max(1e-9, time.monotonic() - started)
    elapsed = elapsed_offset + session_s
    checks = {"validation_s": round(bridge.validation_s, 2), "probes_s": round(probes.seconds, 2)}
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
            f"saved the {what} to {artifact}"
            + (f"; validation and probes took {share:.0%} of the time" if share >= 0.005 else ""),
        }
    )
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


def _save_artifact(model, tokenizer, target: Path) -> None:
    with atomic_directory(target) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
