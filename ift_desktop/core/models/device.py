"""Where the model runs (CUDA, Apple MPS or CPU) and in which precision.

``choose_device()`` picks the best available accelerator unless the user asked for one;
``choose_dtype()`` gives bfloat16 where the hardware supports it and float32 elsewhere (for loading
and generation the CPU stays in fp32); ``training_precision()`` says in which precision a training
run computes and why: bf16 autocast on GPUs with bf16 and on CPUs with native bf16 arithmetic
(AVX-512 BF16 / AMX, or Arm's BF16), fp32 elsewhere (an emulated bf16 is slower than fp32). The
trained weights stay fp32 (master weights); LoRA's frozen base is stored in bf16 (training/loop.py).
``describe_device()`` says what the machine has, for the status bar and the memory estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ModelError

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
PRECISION_CHOICES = ("auto", "bf16", "fp16", "fp32")


@dataclass(frozen=True)
class DeviceInfo:
    """What the chosen device is and how much memory it has (bytes; ``None`` when unknown)."""

    kind: str  # "cuda" | "mps" | "cpu"
    name: str
    total_memory_bytes: int | None
    available_memory_bytes: int | None

    def summary(self) -> str:
        if self.total_memory_bytes:
            gib = self.total_memory_bytes / 2**30
            return f"{self.name} ({gib:.1f} GiB)"
        return self.name


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_device(preference: str | None = "auto") -> torch.device:
    """The device to use: the preference if available, else CUDA > MPS > CPU."""
    preference = (preference or "auto").lower()
    if preference not in DEVICE_CHOICES and not preference.startswith("cuda:"):
        raise ModelError(f"Unknown device '{preference}'; use one of: {', '.join(DEVICE_CHOICES)}.")
    if preference.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelError("CUDA was requested but no CUDA GPU is available here; choose 'auto' or 'cpu'.")
        return torch.device(preference)
    if preference == "mps":
        if not _mps_available():
            raise ModelError("Apple MPS was requested but is not available here; choose 'auto' or 'cpu'.")
        return torch.device("mps")
    if preference == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


_NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")  # x86 (cpuinfo "flags"), Arm ("Features")


def _cpu_flags() -> set[str]:
    try:
        text = open("/proc/cpuinfo", encoding="utf-8", errors="replace").read()
    except OSError:
        return set()
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    return flags


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 in hardware (AVX-512 BF16, AMX or Arm BF16), as oneDNN uses it.

    torch's ``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` is also true on plain AVX-512 CPUs, where
    oneDNN emulates bf16 (slower than fp32), so the CPU's own feature flags decide."""
    return bool(_cpu_flags() & set(_NATIVE_BF16_FLAGS))


@dataclass(frozen=True)
class TrainingPrecision:
    """How a training run computes: ``dtype`` of the matrix products, whether it is autocast over
    fp32 master weights, and a sentence saying why (shown on the Train page)."""

    dtype: torch.dtype
    autocast: bool
    reason: str

    @property
    def name(self) -> str:
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32")


def training_precision(device: torch.device, precision: str | None = "auto") -> TrainingPrecision:
    """The precision a training run on ``device`` uses for ``precision`` (auto|bf16|fp16|fp32)."""
    precision = (precision or "auto").lower()
    if device.type != "cpu":
        dtype = choose_dtype(device, precision)
        if dtype == torch.float32:
            why = "as chosen" if precision == "fp32" else f"this {device.type.upper()} device has no fast bf16"
            return TrainingPrecision(torch.float32, False, f"fp32 ({why})")
        name = "bf16" if dtype == torch.bfloat16 else "fp16"
        why = "as chosen" if precision != "auto" else "this GPU computes bf16 natively"
        return TrainingPrecision(dtype, True, f"{name} mixed precision ({why}; full fine-tuning keeps fp32 weights)")
    native = cpu_has_native_bf16()
    if precision == "fp16":
        raise ModelError("fp16 training is not supported on the CPU; choose 'auto', 'bf16' or 'fp32'.")
    if precision == "fp32":
        return TrainingPrecision(torch.float32, False, "fp32 (as chosen)")
    if precision == "bf16":
        note = "this CPU has native bf16" if native else "this CPU has no native bf16, so it is emulated and slower"
        return TrainingPrecision(torch.bfloat16, True, f"bf16 autocast, trained weights in fp32 (as chosen; {note})")
    if native:
        return TrainingPrecision(
            torch.bfloat16,
            True,
            "bf16 autocast, trained weights in fp32 (this CPU computes bf16 natively: about 2x fp32)",
        )
    return TrainingPrecision(
        torch.float32, False, "fp32 (this CPU has no native bf16 arithmetic; emulated bf16 would be slower)"
    )


def supports_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "mps":
        return False
    return False


def choose_dtype(device: torch.device, precision: str | None = "auto") -> torch.dtype:
    """bfloat16 on hardware that supports it, float32 otherwise; honour an explicit choice."""
    precision = (precision or "auto").lower()
    if precision not in PRECISION_CHOICES:
        raise ModelError(f"Unknown precision '{precision}'; use one of: {', '.join(PRECISION_CHOICES)}.")
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        if device.type == "cpu" or supports_bf16(device):
            return torch.bfloat16
        raise ModelError(f"bf16 is not supported on {device}; choose 'auto' or 'fp32'.")
    if precision == "fp16":
        if device.type == "cpu":
            raise ModelError("fp16 training is not supported on the CPU; choose 'auto' or 'fp32'.")
        return torch.float16
    return torch.bfloat16 if supports_bf16(device) else torch.float32


def describe_device(device: torch.device | str | None = None) -> DeviceInfo:
    """Name and memory of ``device`` (default: the one ``choose_device()`` picks)."""
    device = torch.device(device) if device is not None else choose_device()
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        try:
            free, total = torch.cuda.mem_get_info(index)
        except RuntimeError:
            free, total = None, props.total_memory
        return DeviceInfo("cuda", props.name, int(total), int(free) if free is not None else None)
    total, available = _system_memory()
    if device.type == "mps":  # unified memory: the GPU shares the system RAM
        return DeviceInfo("mps", "Apple GPU (MPS)", total, available)
    import platform

    name = platform.processor() or platform.machine() or "CPU"
    threads = torch.get_num_threads()
    return DeviceInfo("cpu", f"CPU {name} ({threads} threads)", total, available)


def _system_memory() -> tuple[int | None, int | None]:
    try:
        import psutil

        memory = psutil.virtual_memory()
        return int(memory.total), int(memory.available)
    except Exception:
        return None, None


def free_accelerator_memory() -> None:
    """Release cached allocator blocks (after an out-of-memory error or when a run ends)."""
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    if _mps_available() and hasattr(torch, "mps"):
        torch.mps.empty_cache()
