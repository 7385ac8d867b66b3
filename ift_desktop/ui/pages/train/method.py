"""Full fine-tuning or LoRA, with what each costs on this machine.

``estimate_costs`` (plain Python, run in a worker) reads the model's configuration — never its
weights, except that the built-in model is converted once on first use — and returns the trainable
parameters and memory estimate of both methods plus the device's memory. ``MethodChooser`` shows the
two choices side by side and colours each estimate by how much of the device memory it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QLabel, QRadioButton, QWidget

from ift_desktop.core.errors import ModelError
from ift_desktop.core.progress import TaskState
from ift_desktop.core.training.config import METHODS

_TITLES = {
    "lora": ("LoRA (parameter-efficient)", "Trains small adapter matrices; fast, light, the base model stays as is."),
    "full": ("Full fine-tuning", "Trains every weight; needs the most memory and saves a whole model."),
}


@dataclass
class CostRequest:
    spec: object  # ModelSpec
    batch_size: int
    max_length: int
    lora_r: int
    lora_layers: int | None
    target_modules: list[str] | None
    gradient_checkpointing: bool
    precision: str = "auto"
    memory: str = "auto"
    in_app: bool = False  # the run would train inside this window's process


def load_model_config(spec, state: TaskState | None = None):
    """The transformers config of ``spec``: config.json only (for the built-in model not yet converted, the GGUF header)."""
    from ift_desktop.core.libraries import warm_up

    warm_up()  # the page's preload may be importing transformers in another worker at this moment
    from transformers import AutoConfig

    from ift_desktop.core.models import builtin_gguf_path, is_builtin_converted
    from ift_desktop.core.models.builtin import builtin_cache_folder

    target, kwargs = spec.name_or_path, {"trust_remote_code": spec.trust_remote_code}
    if spec.source == "builtin":
        if is_builtin_converted():
            target = str(builtin_cache_folder())
        else:  # read the GGUF header only; the conversion waits for the first real load
            gguf = builtin_gguf_path()
            target, kwargs["gguf_file"] = str(gguf.parent), gguf.name
    elif spec.source == "hub" and spec.revision:
        kwargs["revision"] = spec.revision
    if state is not None:
        state.report(None, "Reading the model configuration")
    try:
        return AutoConfig.from_pretrained(target, **kwargs)
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise ModelError(
            f"Could not read the configuration of {spec.display_name} ({type(exc).__name__}: {first}).",
            hint="Check the model id or folder (and the network for a Hub id).",
        ) from None


def estimate_costs(request: CostRequest, config=None, state: TaskState | None = None) -> dict:
    """``{"config", "device", "precision", "lora": MemoryEstimate, "full": MemoryEstimate, "memory_use":
    {method: MemoryUse}, "window_bytes"}`` for ``request``: the memory use a run would choose now, with its
    expected peak, and what this window's process holds beyond a bare training process (a run in the app
    on a CPU adds to it; 0 otherwise)."""
    from ift_desktop.core.models import choose_device, describe_device, estimate_memory
    from ift_desktop.core.models.device import training_precision
    from ift_desktop.core.models.memory import auto_lora_layers
    from ift_desktop.core.training.allocator import memory_use_for

    if config is None:
        config = load_model_config(request.spec, state)
    if state is not None:
        state.check_cancelled()
        state.report(None, "Estimating memory")
    device = choose_device()
    try:
        precision = training_precision(device, request.precision)
    except ModelError:
        precision = training_precision(device)
    dtype = precision.dtype
    result = {"config": config, "device": describe_device(device), "precision": precision, "memory_use": {}}
    for method in METHODS:
        estimate = result[method] = estimate_memory(
            config,
            method=method,
            batch_size=max(1, int(request.batch_size)),
            max_length=max(1, int(request.max_length)),
            lora_r=max(1, int(request.lora_r)),
            lora_layers=request.lora_layers or auto_lora_layers(config, device.type),
            target_modules=request.target_modules or None,
            dtype=dtype,
            gradient_checkpointing=bool(request.gradient_checkpointing),
            device_kind=device.type,
        )
        result["memory_use"][method] = memory_use_for(request.memory, estimate, device.type)
    result["window_bytes"] = _window_bytes(result["lora"].runtime_bytes) if request.in_app else 0
    return result


def _window_bytes(runtime_bytes: int) -> int:
    """What this process holds beyond the runtime of a bare training process (Qt, the pages, a model the
    Playground keeps); 0 where the run's memory is not this process's RAM (a GPU: runtime 0). The heap's
    free pages are given back first, so memory a finished run left free is not counted."""
    from ift_desktop.core.training.allocator import resident_bytes, trim_if_above

    if not runtime_bytes:
        return 0
    trim_if_above(0)
    return max(0, resident_bytes() - runtime_bytes)


def _params(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return str(n)


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 / 10 else f"{n / 2**20:.0f} MiB"


def _memory_tip(estimate, use, window_bytes: int = 0) -> str:
    """What the memory line is made of, and the memory use a run would choose now (and why)."""
    runtime = f"Python and libraries {_gib(estimate.runtime_bytes)}, " if estimate.runtime_bytes else ""
    parts = (
        f"{runtime}weights {_gib(estimate.weights_bytes)}, gradients {_gib(estimate.gradients_bytes)}, "
        f"optimizer {_gib(estimate.optimizer_bytes)}, activations {_gib(estimate.activations_bytes)} for the "
        f"longest batch: {_gib(estimate.total_bytes)} in all."
    )
    window = (
        f"\nThe run trains in this window, which holds {_gib(window_bytes)} more (the app itself, models it keeps "
        "open); the line includes it."
        if window_bytes
        else ""
    )
    return f"{parts}\nMemory use {use.name}: {use.reason}.{window}"


class MethodChooser(QWidget):
    """Two radio buttons with their cost lines; ``method()`` is ``"lora"`` or ``"full"``."""

    changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        self.costs: dict[str, QLabel] = {}
        for row, method in enumerate(METHODS):
            title, explanation = _TITLES[method]
            button = QRadioButton(title)
            button.setToolTip(explanation)
            cost = QLabel("…")
            cost.setWordWrap(True)
            cost.setToolTip(explanation)
            cost.setContentsMargins(22, 0, 0, 4)
            self.group.addButton(button)
            self.buttons[method] = button
            self.costs[method] = cost
            grid.addWidget(button, row * 2, 0)
            grid.addWidget(cost, row * 2 + 1, 0)
        self.device_line = QLabel()
        self.device_line.setStyleSheet("color: #666;")
        self.device_line.setWordWrap(True)
        grid.addWidget(self.device_line, len(METHODS) * 2, 0)
        self.buttons["lora"].setChecked(True)
        self.group.buttonToggled.connect(lambda *_: self.changed.emit(self.method()))

    def method(self) -> str:
        for method, button in self.buttons.items():
            if button.isChecked():
                return method
        return "lora"

    def set_method(self, method: str) -> None:
        if method in self.buttons:
            self.buttons[method].setChecked(True)

    def show_pending(self, message: str = "estimating…") -> None:
        for label in self.costs.values():
            label.setStyleSheet("color: #777;")
            label.setText(message)

    def show_unknown(self, reason: str) -> None:
        for label in self.costs.values():
            label.setStyleSheet("color: #777;")
            label.setText("cost unknown")
        self.device_line.setText(reason)

    def show_costs(self, result: dict) -> None:
        device = result["device"]
        total_memory = device.total_memory_bytes
        window = result.get("window_bytes", 0)  # a run in the app adds to what the window holds
        for method in METHODS:
            estimate, use = result[method], result["memory_use"][method]
            peak = use.peak_bytes + window
            text = (
                f"{_params(estimate.trainable_params)} trainable of {_params(estimate.total_params)} parameters"
                f" ({estimate.trainable_params / max(1, estimate.total_params):.1%}) · memory ≈ {_gib(peak)}"
            )
            colour = "#1e6b32"
            if total_memory:
                share = peak / total_memory
                text += f" of {_gib(total_memory)}"
                if share > 0.9:
                    colour, text = "#b3261e", text + " — likely too much; lower the batch size or length"
                elif share > 0.6:
                    colour = "#8a5300"
            self.costs[method].setText(text)
            self.costs[method].setToolTip(_memory_tip(estimate, use, window))
            self.costs[method].setStyleSheet(f"color: {colour};")
        precision = result.get("precision")
        self.device_line.setText(
            f"Device: {device.summary()}" + (f"\nPrecision: {precision.reason}" if precision else "")
        )
