"""Whether a CPU training process gives the memory it frees back to the system (glibc's malloc).

A training step allocates and frees gigabytes of activations. glibc serves a large allocation as its
own mapping, returned to the system when freed, but the first time such a mapping is freed it raises
that threshold (up to 32 MiB): from then on the activations come from the heap, which keeps what it
frees, fragmented. Measured on the built-in model (LoRA, 4 x 672 tokens, ``benchmarks/memory_phases.py``,
RESULTS.md): the tensors alive at once peak at 4.17 GiB, the process at 6.80 GiB ("fast": memory kept
for reuse). With a fixed 64 KiB threshold ("lean", ``mallopt``) the process peaks at the 4.17 GiB the
tensors need, and a step takes ~20 % longer (fresh pages are zeroed by the kernel). ``auto`` is lean
only when the run's estimated need, held ~1.65 times over, would not fit in the memory free now.

The threshold is the process's: once lean, a process stays lean.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from dataclasses import dataclass

MEMORY_MODES = ("auto", "lean", "fast")
HELD_SHARE = 1.65  # peak RSS / peak of live tensors when glibc keeps freed memory (6.80 / 4.17 GiB, measured)
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers (malloc.h)
_LEAN_THRESHOLD = 64 * 1024
_lean = False


@dataclass(frozen=True)
class MemoryUse:
    lean: bool
    reason: str

    @property
    def name(self) -> str:
        return "lean" if self.lean else "fast"


def _gib(size: float) -> str:
    return f"{size / 2**30:.1f} GB"


def choose_memory_use(mode: str, *, needed_bytes: int, available_bytes: int, device_type: str) -> MemoryUse:
    """Lean or fast for a run in ``mode`` that needs about ``needed_bytes`` (the memory estimate)."""
    if device_type != "cpu":
        return MemoryUse(False, "the activations live on the accelerator; the process keeps what it frees")
    if _glibc() is None:
        return MemoryUse(False, "this system's memory allocator is not glibc's: left as it is")
    if _lean:
        return MemoryUse(True, "freed memory already goes back to the system in this process")
    if mode == "lean":
        return MemoryUse(True, "set to lean: freed memory goes back to the system (about 20 % slower)")
    if mode == "fast":
        return MemoryUse(False, f"set to fast: the process keeps freed memory (may hold ~{HELD_SHARE:.1f}x the need)")
    held = needed_bytes * HELD_SHARE
    if held > available_bytes:
        return MemoryUse(
            True,
            f"about {_gib(needed_bytes)} needed, {_gib(available_bytes)} free: freed memory goes back to the "
            "system (about 20 % slower, the peak stays near the need)",
        )
    return MemoryUse(
        False,
        f"about {_gib(needed_bytes)} needed, {_gib(available_bytes)} free: the process keeps freed memory for "
        f"speed (it may hold up to ~{_gib(held)})",
    )


def apply_memory_use(use: MemoryUse) -> None:
    """Make the process lean when ``use`` says so (for the rest of the process)."""
    if use.lean:
        return_freed_memory()


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
    return libc
