"""Where the model runs (CUDA, Apple MPS or CPU) and in which precision.

``choose_device()`` picks the best available accelerator unless the user asked for one;
``choose_dtype()`` gives bfloat16 where the hardware supports it and float32 elsewhere (CPU
training in bf16 is slow and lossy, so the CPU stays in fp32); ``describe_device()`` says what the
machine has, for the status bar and the memory estimate.
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
