"""A lean training process gives freed memory back to the system; auto chooses lean only when memory is short."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ift_desktop.core.models import ModelSpec
from ift_desktop.core.training import TrainConfig, allocator, run_training

GIB = 2**30
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")

_FREED_MIB = textwrap.dedent(
    """
    import sys, psutil, torch
    from ift_desktop.core.training.allocator import return_freed_memory
    if sys.argv[1] == "lean":
        assert return_freed_memory()
    rss = lambda: psutil.Process().memory_info().rss
    big = [torch.ones(2**21) for _ in range(4)]  # 8 MiB each
    del big[0]  # the first freed mapping: glibc raises its threshold past 8 MiB
    keep = []
    for _ in range(40):
        big.append(torch.ones(2**21))
        # a live 256 KiB tensor after each: the heap cannot shrink past it (too big for a hole the imports left,
        # which would leave the 8 MiB ones side by side at the top, trimmed on free: flaky in CI at 1000 floats)
        keep.append(torch.ones(2**16))
    before = rss()
    big.clear()
    print((before - rss()) / 2**20)
    """
)


@linux_only
@pytest.mark.parametrize("mode", ["fast", "lean"])
def test_a_lean_process_returns_freed_activations_to_the_system(mode):
    done = subprocess.run([sys.executable, "-c", _FREED_MIB, mode], capture_output=True, text=True, check=True)
    returned_mib = float(done.stdout.strip())
    if mode == "lean":
        assert returned_mib > 300  # the 43 freed 8 MiB tensors left the process
    else:
        assert returned_mib < 100  # glibc's heap kept them


@linux_only
def test_auto_is_lean_only_when_the_held_peak_would_not_fit_and_each_use_names_its_peak(monkeypatch):
    monkeypatch.setattr(allocator, "_lean", False)
    need, runtime = 4 * GIB, GIB
    held = allocator.held_bytes(need, runtime)
    assert held == int(runtime + 3 * GIB * allocator.HELD_SHARE)  # the runtime is not held twice

    def choose(mode, available, device="cpu"):
        return allocator.choose_memory_use(
            mode, needed_bytes=need, runtime_bytes=runtime, available_bytes=available, device_type=device
        )

    short, ample = choose("auto", held - 1), choose("auto", held + 1)
    assert short.lean and short.peak_bytes == need and "4.0 GiB needed" in short.reason
    assert not ample.lean and ample.peak_bytes == held and "keeps freed memory" in ample.reason
    assert f"{held / GIB:.1f} GiB" in ample.reason
    lean, fast = choose("lean", 20 * GIB), choose("fast", 1)
    assert lean.lean and lean.peak_bytes == need
    assert not fast.lean and fast.peak_bytes == held
    # a fast process gives its heap's free pages back after a step that ends above the need; lean needs no trim
    assert fast.trim_above_bytes == ample.trim_above_bytes == need
    assert lean.trim_above_bytes is None and short.trim_above_bytes is None
    gpu = choose("auto", 1, device="cuda")
    assert not gpu.lean and gpu.peak_bytes == need  # the estimate is the accelerator's tensors
    assert gpu.trim_above_bytes is None
    monkeypatch.setattr(allocator, "_lean", True)  # a process once lean stays lean, and says so
    stays = choose("fast", 20 * GIB)
    assert stays.lean and stays.peak_bytes == need


_TRIMMED_MIB = textwrap.dedent(
    """
    import sys, torch
    from ift_desktop.core.training.allocator import resident_bytes, trim_if_above
    small = [torch.ones(2**14) for _ in range(5000)]  # 64 KiB each, from the heap: 312 MiB
    keep = small[-1]
    small.clear()  # freed, but the heap keeps the pages below the last live tensor
    before = resident_bytes()
    assert not trim_if_above(None) and not trim_if_above(before + 2**30) and resident_bytes() > before - 2**26
    assert trim_if_above(before // 2)
    print((before - resident_bytes()) / 2**20)
    """
)


@linux_only
def test_a_fast_process_above_its_need_gives_free_heap_pages_back():
    done = subprocess.run([sys.executable, "-c", _TRIMMED_MIB], capture_output=True, text=True, check=True)
    assert float(done.stdout.strip()) > 200  # most of the 312 MiB freed left the process


@linux_only
def test_the_trim_callback_trims_only_above_its_limit(monkeypatch):
    from ift_desktop.core.training.callbacks import HeldMemoryTrim

    trimmed = []
    monkeypatch.setattr(allocator, "_glibc", lambda: type("Libc", (), {"malloc_trim": trimmed.append})())
    monkeypatch.setattr(allocator, "resident_bytes", lambda: 2 * GIB)
    above, below = HeldMemoryTrim(GIB), HeldMemoryTrim(3 * GIB)
    for callback in (above, below):
        callback.on_step_end(None, None, None)
    assert (above.trims, below.trims, trimmed) == (1, 0, [0])


def test_the_package_bounds_onednn_primitive_cache_unless_the_user_set_it():
    code = "import os, ift_desktop; print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    env = {k: v for k, v in __import__("os").environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    ours = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    theirs = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "7"},
        check=True,
    )
    assert (ours.stdout.strip(), theirs.stdout.strip()) == ("64", "7")


@pytest.mark.parametrize("mode", ["lean", "fast"])
def test_the_run_applies_and_records_its_memory_use(tmp_path, monkeypatch, llama, data, mode):
    applied = []
    monkeypatch.setattr(allocator, "_lean", False)
    monkeypatch.setattr(allocator, "return_freed_memory", lambda: applied.append(True) or True)
    events: list[dict] = []
    config = TrainConfig(max_steps=1, batch_size=2, eval_steps=0, save_steps=0, device="cpu", memory=mode)
    run_training(
        config, data_dir=data, model=ModelSpec.parse(str(llama)), out_dir=tmp_path / "run", on_event=events.append
    )
    started = next(e for e in events if e.get("status") == "started")
    lean = mode == "lean" and sys.platform.startswith("linux")
    assert started["memory"] == ("lean" if lean else "fast") and started["memory_reason"]
    assert applied == ([True] if lean else [])
    from ift_desktop.core.training import RunFolder

    device = RunFolder(tmp_path / "run").read_record()["device"]
    assert device["memory"] == started["memory"]
    assert device["memory_peak_estimate_bytes"] > 0  # the peak the run expected with that use


def test_a_memory_mode_outside_the_choices_is_refused():
    from ift_desktop.core.errors import SettingError

    with pytest.raises(SettingError, match="Memory use"):
        TrainConfig(memory="tiny")
