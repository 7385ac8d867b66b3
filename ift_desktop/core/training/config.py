"""The settings of one training run; each field's metadata (setting_fields.py: help, label, choices,
flag) makes the `train` command's flags and the Train page's form.

:class:`TrainConfig` validates itself in ``__post_init__`` (a :class:`SettingError` that names the
setting by its label and says what a sensible value is) and round-trips through JSON with a
``schema_version``; every run folder keeps the exact config it ran with (``run.json``).

The defaults are the ones measured on the built-in model (benchmarks/RESULTS.md): LoRA r 16 /
alpha 32 on all linear layers without dropout, AdamW at 1e-3, 4 examples a step (one per pass,
accumulated: no padding), one epoch or 10 minutes, whichever ends first (the time limit fits the steps
and the schedule), the max length from the dataset; on DialogSum dev that is the default run of
benchmarks/dialogsum_lora.py.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ..errors import SettingError, TrainingError
from .allocator import MEMORY_MODES
from .setting_fields import setting, setting_info

SCHEMA_VERSION = 1
METHODS = ("lora", "full")
SCHEDULES = ("linear", "cosine", "constant", "constant_with_warmup")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
DEVICES = ("auto", "cuda", "mps", "cpu")
DEFAULT_LR = {"lora": 1e-3, "full": 2e-5}
DEFAULT_EXAMPLES_PER_STEP = 4  # batch size x accumulation when the accumulation is left empty


@dataclass
class TrainConfig:
    method: str = setting(
        "Full fine-tuning updates every weight (best quality, most memory). LoRA trains small low-rank "
        "adapters beside frozen weights (a fraction of the memory, saved as a small adapter).",
        "lora",
        label="Method",
        choices=METHODS,
        in_form=False,  # the page's method chooser, with the memory each needs
    )
    max_steps: int | None = setting(
        "Stop after this many optimizer steps. Leave empty to train for the number of epochs instead.",
        None,
        label="Steps",
        advanced=False,
        empty="none: train for the epochs",
        cli_group="length",
    )
    epochs: float = setting(
        "Passes over the training split (used when no step limit is set).",
        1.0,
        label="Epochs",
        advanced=False,
        metavar="E",
        cli_group="length",
    )
    time_limit_minutes: float | None = setting(
        "Train for at most this many minutes (runs without a step limit): after each step the run fits its last "
        "step and the learning-rate schedule to the time left at its pace so far, and ends sooner when the epochs "
        "are done. A set step limit trains all its steps. Empty or 0 = no time limit.",
        10.0,
        label="Time limit (minutes)",
        advanced=False,
        empty="none",
        flag="--time-limit",
        metavar="MINUTES",
    )
    learning_rate: float | None = setting(
        "Step size of the AdamW optimizer. Empty = the method's default: 1e-3 for LoRA, 2e-5 for full "
        "fine-tuning. Too high makes the loss jump or become NaN; too low barely moves it.",
        None,
        label="Learning rate",
        advanced=False,
        flag="--lr",
        metavar="X",
    )
    lr_schedule: str = setting(
        "How the learning rate changes over the run after warm-up: linear or cosine decay to zero, or constant.",
        "linear",
        label="Learning-rate schedule",
        choices=SCHEDULES,
        flag="--schedule",
    )
    warmup_ratio: float = setting(
        "Share of the steps (0-0.5) over which the learning rate ramps up from zero; steadies the first updates.",
        0.03,
        label="Warm-up share",
        metavar="F",
    )
    weight_decay: float = setting(
        "AdamW weight decay (a pull of the weights towards zero); 0 turns it off.",
        0.0,
        label="Weight decay",
        metavar="F",
    )
    batch_size: int = setting(
        "Examples per forward pass. 1 pads nothing and needs the least memory: on a CPU without native bf16 it is "
        "also the fastest per example. On a CPU with native bf16, 4 was 1.1-1.2 times as fast per example and "
        "peaked about 1 GiB higher (measured). On a GPU a larger batch uses the card better; memory grows with it.",
        1,
        label="Batch size",
        advanced=False,
    )
    grad_accum: int | None = setting(
        "Gradient accumulation: add up this many batches before each optimizer step. The effective batch is "
        "batch size x accumulation, at the memory cost of one batch; the loss is the same as one big batch's. "
        f"Empty = {DEFAULT_EXAMPLES_PER_STEP} examples a step ({DEFAULT_EXAMPLES_PER_STEP} / batch size, at least 1).",
        None,
        label="Gradient accumulation",
        advanced=False,
        empty=f"{DEFAULT_EXAMPLES_PER_STEP} examples a step",
    )
    max_length: int | None = setting(
        "Longest prompt + completion in tokens; longer examples are cut at the end (the data page shows how many). "
        "Empty = from the dataset: the max length chosen on its statistics step, else the length that keeps 99% "
        "of its training examples whole.",
        None,
        label="Max length (tokens)",
        advanced=False,
    )
    max_grad_norm: float = setting(
        "Gradients are clipped to this norm each step; 0 turns clipping off.",
        1.0,
        label="Gradient clipping norm",
        flag=None,
    )
    lora_r: int = setting(
        "LoRA rank: the width of the adapter matrices. Higher learns more and costs more.",
        16,
        label="LoRA rank (r)",
        advanced=False,
    )
    lora_alpha: int = setting(
        "LoRA scaling: the update is multiplied by alpha / r. Usually twice the rank.", 32, label="LoRA alpha"
    )
    lora_dropout: float = setting(
        "Dropout on the adapter's input during training (0-0.5); guards against overfitting on long runs, "
        "at the cost of a copy of every adapter's input (memory and time). 0 = off.",
        0.0,
        label="LoRA dropout",
        metavar="P",
    )
    lora_target_modules: list[str] | None = setting(
        "Layers that get adapters. Empty = all linear layers of the attention and MLP blocks (q/k/v/o, gate/up/"
        "down for Llama-like models; q/k/v/o/wi/wo for T5).",
        None,
        label="LoRA target layers",
        empty="all linear layers",
        flag="--lora-targets",
        metavar="A,B",
    )
    lora_layers: int | None = setting(
        "Adapters on the last N layers only (of each stack for T5). The backward pass then stops below them: "
        "steps are faster and keep less memory, but the lower layers do not adapt. Empty = auto: the top half "
        "of the layers on a CPU (where time is the limit), every layer on a GPU. A number at least the model's "
        "layer count = every layer.",
        None,
        label="LoRA on the last N layers",
        empty="auto",
        metavar="N",
    )
    seed: int = setting(
        "Random seed for the adapter's initialisation, data order and dropout; same seed, same run.", 42, label="Seed"
    )
    eval_steps: int = setting(
        "Compute the validation loss (and the probe answers) every this many steps; 0 = only at the end.",
        20,
        label="Evaluate every (steps)",
        advanced=False,
    )
    eval_max_examples: int | None = setting(
        "Validation examples used for each evaluation (the first N); keeps evaluations quick (on a CPU a "
        "validation of 16 DialogSum examples takes about as long as two training steps of 4). Empty = all.",
        16,
        label="Validation examples",
        empty="all",
    )
    save_steps: int = setting(
        "Write a checkpoint (weights + optimizer state, for resuming) every this many steps; 0 = only at the end.",
        20,
        label="Checkpoint every (steps)",
    )
    save_total_limit: int = setting(
        "Checkpoints kept on disk; older ones are deleted.", 2, label="Checkpoints kept", flag=None
    )
    logging_steps: int = setting(
        "Log loss, learning rate and gradient norm every this many steps.", 1, label="Log every (steps)", flag=None
    )
    packing: bool = setting(
        "Pack each batch's examples end to end into rows of at most the max length, with restarting positions and "
        "a mask that keeps every example to itself (same loss, no padding), instead of padding them to the longest. "
        "Causal LMs only; benchmarks/RESULTS.md compares its speed with the default length-grouped batches.",
        False,
        label="Packing (no padding)",
    )
    gradient_checkpointing: bool = setting(
        "Recompute activations in the backward pass instead of storing them: much less memory, about 1.5 times "
        "the time of a LoRA step on a CPU (measured).",
        False,
        label="Gradient checkpointing",
    )
    memory: str = setting(
        "What the training process does with the memory it frees (CPU): auto = give it back to the system "
        "when the peak of keeping it (about 1.3 times the estimate above the runtime) would not fit in the free "
        "memory, else keep it for reuse; lean = always give it back (the peak stays near the estimate; steps "
        "slower); fast = keep it (faster steps; the Train page's memory line shows the peak of the use chosen).",
        "auto",
        label="Memory use",
        choices=MEMORY_MODES,
    )
    precision: str = setting(
        "Number format of the arithmetic: auto = bf16 mixed precision (fp32 weights) on GPUs and on CPUs with "
        "native bf16 (AVX-512 BF16 / AMX), fp32 elsewhere, where bf16 would be emulated and slower.",
        "auto",
        label="Precision",
        choices=PRECISIONS,
    )
    device: str = setting(
        "Where to train: auto picks a CUDA GPU, then Apple MPS, then the CPU.",
        "auto",
        label="Device",
        choices=DEVICES,
        open_choices=True,  # cuda:1 and the like are accepted too
    )
    use_chat_template: bool | None = setting(
        "Wrap prompts in the model's chat template (instruct models have one). Empty = use it when the model has one.",
        None,
        label="Use the chat template",
        flag="--chat-template",
        flag_help=(
            "always wrap prompts in the model's chat template",
            "never use the chat template (plain prompt + completion)",
        ),
    )
    probe_prompts: list[str] = setting(
        "Prompts answered by the model at each evaluation, to watch how its answers change during training.",
        factory=list,
        label="Probe prompts",
        flag="--probe",
        metavar="PROMPT",
        in_form=False,  # the page's probe editor
    )
    probe_max_new_tokens: int = setting(
        "Length limit (tokens) of each probe answer.", 48, label="Probe answer length (tokens)", flag=None
    )

    # ------------------------------------------------------------------------------ validation
    def __post_init__(self):
        self.method = str(self.method).lower().strip()
        if self.method not in METHODS:
            raise TrainingError(f"Unknown training method '{self.method}'; use 'lora' or 'full'.")
        if self.learning_rate is None:
            self.learning_rate = DEFAULT_LR[self.method]
        if self.grad_accum is None:  # recorded as the count used
            self.grad_accum = default_grad_accum(self.batch_size)
        self.lr_schedule = str(self.lr_schedule).lower()
        self.precision = str(self.precision).lower()
        self.memory = str(self.memory).lower()
        self.device = str(self.device).lower()
        if self.lora_target_modules is not None:
            self.lora_target_modules = [str(m).strip() for m in self.lora_target_modules if str(m).strip()] or None
        self.probe_prompts = [str(p) for p in (self.probe_prompts or []) if str(p).strip()]
        self._validate()

    def _validate(self) -> None:
        def bad(name: str, value, expected: str):
            raise SettingError(name, setting_info(TrainConfig, name).label, f"is {value!r}; it must be {expected}.")

        def positive_int(name: str, minimum: int = 1):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                bad(name, value, f"a whole number of at least {minimum}")

        def number(name: str, low: float, high: float, *, open_low: bool = False):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                bad(name, value, f"a number between {low} and {high}")
            if value > high or value < low or (open_low and value == low):
                bad(name, value, f"{'above' if open_low else 'at least'} {low} and at most {high}")

        if self.max_steps is not None:
            positive_int("max_steps")
        number("epochs", 0, 1000, open_low=True)
        if self.time_limit_minutes is not None:
            number("time_limit_minutes", 0, 100000)
        number("learning_rate", 0, 1.0, open_low=True)
        if self.lr_schedule not in SCHEDULES:
            bad("lr_schedule", self.lr_schedule, "one of " + ", ".join(SCHEDULES))
        number("warmup_ratio", 0, 0.5)
        number("weight_decay", 0, 1.0)
        positive_int("batch_size")
        positive_int("grad_accum")
        if self.max_length is not None:
            positive_int("max_length", 8)
        number("max_grad_norm", 0, 1e6)
        positive_int("lora_r")
        positive_int("lora_alpha")
        number("lora_dropout", 0, 0.5)
        if self.lora_layers is not None:
            positive_int("lora_layers")
        positive_int("seed", 0)
        positive_int("eval_steps", 0)
        if self.eval_max_examples is not None:
            positive_int("eval_max_examples")
        positive_int("save_steps", 0)
        positive_int("save_total_limit", 1)
        positive_int("logging_steps")
        if self.precision not in PRECISIONS:
            bad("precision", self.precision, "one of " + ", ".join(PRECISIONS))
        if self.memory not in MEMORY_MODES:
            bad("memory", self.memory, "one of " + ", ".join(MEMORY_MODES))
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            bad("device", self.device, "one of " + ", ".join(DEVICES))
        positive_int("probe_max_new_tokens")

    # ----------------------------------------------------------------------------- helpers
    @property
    def effective_batch_size(self) -> int:
        return self.batch_size * self.grad_accum

    @classmethod
    def help(cls, name: str) -> str:
        """The help text of a field (the flag's help, the UI's tooltip)."""
        return setting_info(cls, name).help

    def to_dict(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        data = dict(data)
        version = data.pop("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise TrainingError(
                f"This training config has schema version {version!r}; this version of IFT Desktop reads up to "
                f"{SCHEMA_VERSION}. Update the app to open it."
            )
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(
                f"Unknown training setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}."
            )
        try:
            return cls(**data)
        except TypeError as exc:
            raise TrainingError(f"Training settings are malformed ({exc}).") from None

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> TrainConfig:
        text = str(text_or_path)
        if isinstance(text_or_path, Path) or not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise TrainingError(f"The training config is not valid JSON ({exc}).") from None
        if isinstance(data, dict) and "config" in data and "method" not in data:  # a run.json
            data = data["config"]
        if not isinstance(data, dict):
            raise TrainingError("The training config must be a JSON object.")
        return cls.from_dict(data)


def default_grad_accum(batch_size) -> int:
    """The accumulation that makes a step of ``DEFAULT_EXAMPLES_PER_STEP`` examples (at least 1)."""
    if not isinstance(batch_size, int) or batch_size < 1:
        return 1  # validation then names the bad batch size
    return max(1, DEFAULT_EXAMPLES_PER_STEP // batch_size)


def smaller_batch_config(config: TrainConfig) -> TrainConfig | None:
    """The same effective batch with half the memory per step (half batch, double accumulation).

    ``None`` when the batch is already 1 (then only a shorter max length, gradient checkpointing or
    LoRA instead of full fine-tuning can save memory)."""
    if config.batch_size <= 1:
        return None
    return replace(config, batch_size=config.batch_size // 2, grad_accum=config.grad_accum * 2)
