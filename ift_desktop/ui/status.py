"""The status bar's device line: which device trains (CPU or GPU name) and how much memory is free."""

from __future__ import annotations

import psutil
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel

from ift_desktop.ui.task_runner import TaskRunner


def _gib(n: int | float | None) -> str:
    return "?" if n is None else f"{n / 2**30:.1f} GiB"


def _probe_device(state=None):
    from ift_desktop.core.models.device import describe_device

    return describe_device()


class DeviceStatus(QLabel):
    """Filled in from a worker (importing torch and probing CUDA takes a moment), then kept fresh."""

    def __init__(self, parent=None):
        super().__init__("Device: checking…", parent)
        self.setContentsMargins(8, 0, 8, 0)
        self.info = None
        self._probe = TaskRunner(self)
        self._probe.start(
            _probe_device, on_done=self._on_info, on_failed=lambda message: self.setText(f"Device: unknown ({message})")
        )
        self._timer = QTimer(self)
        self._timer.setInterval(5000)
        self._timer.timeout.connect(self._refresh)

    def _on_info(self, info) -> None:
        self.info = info
        self._refresh()
        self._timer.start()

    def _refresh(self) -> None:
        info = self.info
        if info is None:
            return
        memory = psutil.virtual_memory()
        if info.kind == "cpu":
            text = f"Device: CPU ({psutil.cpu_count(logical=False) or psutil.cpu_count()} cores) · RAM {_gib(memory.available)} free of {_gib(memory.total)}"
        else:
            text = f"Device: {info.name} · {_gib(info.available_memory_bytes)} free of {_gib(info.total_memory_bytes)}"
            text += f" · RAM {_gib(memory.available)} free"
        self.setText(text)
        self.setToolTip("Training and generation run on this device. Memory is refreshed every few seconds.")

    def shutdown(self) -> None:
        self._timer.stop()
        self._probe.shutdown(3000)
