"""Whether a CPU training process gives the memory it frees back to the system (glibc's malloc).

A training step allocates and frees gigabytes of activations. glibc serves a large allocation as its
own mapping, returned to the system when freed, but the first time such a mapping is freed it raises
that threshold (up to 32 MiB): from then on the activations come from the heap, which keeps what it
frees, fragmented. With a fixed 64 KiB threshold ("lean", ``mallopt``) the process peaks at what its
tensors need (the memory estimate, within 3 %) and a step takes longer (fresh pages are zeroed by the
kernel: 4.5 → 6.7 s at batch 1). Kept ("fast"), the process holds more than the estimate: measured on
the built-in model at 672 tokens (``benchmarks/memory_check.py --memory fast``, RESULTS.md), the part
above the Python runtime was 1.17-1.42 times the estimate's (LoRA and full, batch 1 and 4), hence
:data:`HELD_SHARE`. ``auto`` is lean only when that held peak would not fit in the memory free now.

What a fast heap holds also grows with the run: each new mix of example lengths leaves free memory the
next steps cannot reuse (a bf16 run on the built-in model went from 1.2 GiB after 4 steps to 2.9 GiB after
112, its live tensors unchanged). So a fast process is bounded: after a step that ends holding more than
the run needs (``MemoryUse.trim_above_bytes``, the estimate), :func:`trim_if_above` gives the heap's free
pages back (``malloc_trim``, ~45 ms, once in a few steps); the speed of keeping memory stays and the
peak stays near :data:`HELD_SHARE` of the need. What no trim gives back is the memory oneDNN (the bf16
kernels) keeps for every sequence length it has met; a bf16 CPU run pads its batches to a multiple of 32
tokens (``loop.length_multiple``), so it meets few lengths.

:class:`MemoryUse` carries the peak to expect with the use chosen: the Train page shows it and a run
records it, so the number a user reads is the one the process reaches.

The threshold is the process's: once lean, a process stays lean.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from dataclasses import dataclass

MEMORY_MODES = ("auto", "lean", "fast")
HELD_SHARE = 1.3  # fast: peak RSS over the estimate, above the runtime (1.17-1.42 measured, RESULTS.md)
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers (malloc.h)
_LEAN_THRESHOLD = 64 * 1024
_lean = False


@dataclass(frozen=True)
class MemoryUse:
    lean: bool
    reason: str
    peak_bytes: int  # the process's expected peak with this use
    trim_above_bytes: int | None = None  # fast on glibc: give free heap pages back after a step ending above this

    @property
    def name(self) -> str:
        return "lean" if self.lean else "fast"


def _gib(size: float) -> str:
    return f"{size / 2**30:.1f} GiB"


def held_bytes(needed_bytes: int, runtime_bytes: int = 0) -> int:
    """The peak of a process that keeps what it frees, for a run that needs ``needed_bytes`` (the
    estimate, of which ``runtime_bytes`` are the Python runtime and libraries, not held twice)."""
    runtime = min(runtime_bytes, needed_bytes)
    return int(runtime + (needed_bytes - runtime) * HELD_SHARE)


def choose_memory_use(
    mode: str, *, needed_bytes: int, available_bytes: int, device_type: str, runtime_bytes: int = 0
) -> MemoryUse:
    """Lean or fast for a run in ``mode`` that needs about ``needed_bytes`` (the memory estimate, of which
    ``runtime_bytes`` the runtime's), with the peak the process should reach."""
    if device_type != "cpu":
        return MemoryUse(
            False, "the activations live on the accelerator; the process keeps what it frees", needed_bytes
        )
    if _glibc() is None:
        return MemoryUse(False, "this system's memory allocator is not glibc's: left as it is", needed_bytes)
    held = held_bytes(needed_bytes, runtime_bytes)
    if _lean:
        return MemoryUse(True, "freed memory already goes back to the system in this process", needed_bytes)
    if mode == "lean":
        return MemoryUse(True, "set to lean: freed memory goes back to the system (slower steps)", needed_bytes)
    if mode == "fast":
        return MemoryUse(
            False, f"set to fast: the process keeps freed memory (up to about {_gib(held)})", held, needed_bytes
        )
    if held > available_bytes:
        return MemoryUse(
            True,
            f"about {_gib(needed_bytes)} needed, {_gib(available_bytes)} free: freed memory goes back to the "
            "system (slower steps, the peak stays near the need)",
            needed_bytes,
        )
    return MemoryUse(
        False,
        f"about {_gib(needed_bytes)} needed, {_gib(available_bytes)} free: the process keeps freed memory for "
        f"speed (up to about {_gib(held)})",
        held,
        needed_bytes,
    )


def memory_use_for(mode: str, estimate, device_type: str) -> MemoryUse:
    """:func:`choose_memory_use` for a run with this ``MemoryEstimate``, in the memory free now."""
    import psutil

    return choose_memory_use(
        mode,
        needed_bytes=estimate.total_bytes,
        runtime_bytes=estimate.runtime_bytes,
        available_bytes=psutil.virtual_memory().available,
        device_type=device_type,
    )


def apply_memory_use(use: MemoryUse) -> None:
    """Make the process lean when ``use`` says so (for the rest of the process)."""
    if use.lean:
        return_freed_memory()


def trim_if_above(limit_bytes: int | None) -> bool:
    """Give the heap's free pages back to the system when the process holds more than ``limit_bytes``
    (its resident memory); True when it trimmed. Nothing where the C library is not glibc."""
    libc = _glibc()
    if limit_bytes is None or libc is None or not hasattr(libc, "malloc_trim"):
        return False
    if resident_bytes() <= limit_bytes:
        return False
    libc.malloc_trim(0)
    return True


def resident_bytes() -> int:
    """This process's resident memory now."""
    import psutil

    return int(psutil.Process().memory_info().rss)


def return_freed_memory() -> bool:
    """Fix glibc's mmap threshold at 64 KiB, so freed activations go back to the system; False where the
    C library is not glibc."""
    global _lean
    libc = _glibc()
    if libc is None or not libc.mallopt(_M_MMAP_THRESHOLD, _LEAN_THRESHOLD):
        return False
    _lean = True
    return True


@functools.cache
def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    if hasattr(libc, "malloc_trim"):
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    return libc
