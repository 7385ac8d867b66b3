"""The left side of the Train page: everything chosen before pressing Start.

Model, dataset, method (with trainable parameters and memory estimates computed in a worker),
hyper-parameters (from ``TrainConfig``) and probe prompts. :meth:`SetupPanel.request` turns the
choices into ``(ModelSpec, dataset folder, TrainConfig)`` or raises a ``UserError`` whose one line
the page shows inline.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from ift_desktop.core.errors import DataError, TrainingError, UserError
from ift_desktop.ui.workers import run_in_thread

from .hyperparams import HyperParameterForm
from .method import CostRequest, MethodChooser, estimate_costs
from .pickers import DatasetPicker, ModelPicker
from .probes import ProbeEditor
from .session import quit_when_done
from .where_to_run import WhereToRun

# TrainConfig fields shown outside the "Advanced" fold, in this order.
COMMON_FIELDS = (
    "max_steps", "epochs", "learning_rate", "batch_size", "grad_accum", "max_length", "lora_r", "eval_steps",
)
LABELS = {
    "max_steps": "Steps",
    "epochs": "Epochs",
    "learning_rate": "Learning rate",
    "lr_schedule": "Learning-rate schedule",
    "warmup_ratio": "Warm-up share",
    "weight_decay": "Weight decay",
    "batch_size": "Batch size",
    "grad_accum": "Gradient accumulation",
    "max_length": "Max length (tokens)",
    "max_grad_norm": "Gradient clipping norm",
    "lora_r": "LoRA rank (r)",
    "lora_alpha": "LoRA alpha",
    "lora_dropout": "LoRA dropout",
    "lora_target_modules": "LoRA target layers",
    "seed": "Seed",
    "eval_steps": "Evaluate every (steps)",
    "eval_max_examples": "Validation examples",
    "save_steps": "Checkpoint every (steps)",
    "save_total_limit": "Checkpoints kept",
    "logging_steps": "Log every (steps)",
    "gradient_checkpointing": "Gradient checkpointing",
    "precision": "Precision",
    "device": "Device",
    "use_chat_template": "Use the chat template",
    "probe_max_new_tokens": "Probe answer length (tokens)",
}
NONE_TEXTS = {
    "max_steps": "none: train for the epochs",
    "learning_rate": "auto",
    "lora_target_modules": "all linear layers",
    "eval_max_examples": "all",
    "use_chat_template": "auto",
}
# Fields with their own editor on the page (not in the form).
OWN_EDITORS = ("method", "probe_prompts", "schema_version")
# Fields whose change alters the memory estimate.
COST_FIELDS = ("batch_size", "max_length", "lora_r", "lora_target_modules", "gradient_checkpointing", "precision")
PROBE_EXAMPLES = 20  # validation prompts offered by "Pin one from the dataset"
_MODEL_CONFIGS: dict[str, object] = {}  # repr(ModelSpec) → its transformers config, read once per process


def train_config_class():
    from ift_desktop.core.training.config import TrainConfig

    return TrainConfig


def field_choices() -> dict[str, tuple]:
    from ift_desktop.core.training import config as train_config

    return {
        "lr_schedule": train_config.SCHEDULES,
        "precision": train_config.PRECISIONS,
        "device": train_config.DEVICES,
    }


def default_learning_rates() -> dict[str, float]:
    from ift_desktop.core.training.config import DEFAULT_LR

    return dict(DEFAULT_LR)


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("SectionTitle")
    return label


def validation_prompts(dataset_dir: str | Path, limit: int = PROBE_EXAMPLES) -> list[str]:
    """The first ``limit`` prompts of a dataset's validation split (test split if it has none)."""
    for split in ("validation", "test", "train"):
        path = Path(dataset_dir) / f"{split}.jsonl"
        prompts: list[str] = []
        try:
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if len(prompts) >= limit:
                        break
                    try:
                        prompt = json.loads(line).get("prompt")
                    except (ValueError, AttributeError):
                        continue
                    if isinstance(prompt, str) and prompt.strip():
                        prompts.append(prompt)
        except OSError:
            continue
        if prompts:
            return prompts
    return []


class SetupPanel(QScrollArea):
    """The choices before a run; ``request()`` validates and returns them."""

    changed = Signal()

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.config_cls = train_config_class()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # everything wraps or shrinks to the width
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 12, 4)
        layout.setSpacing(6)

        self.model_picker = ModelPicker(context.settings)
        self.dataset_picker = DatasetPicker(context)
        self.method = MethodChooser()
        self.form = HyperParameterForm(
            self.config_cls, COMMON_FIELDS, OWN_EDITORS, labels=LABELS, choices=field_choices(), none_texts=NONE_TEXTS
        )
        self.probes = ProbeEditor()
        self.where = WhereToRun()
        for title, widget in (
            ("Base model", self.model_picker),
            ("Dataset", self.dataset_picker),
            ("Method", self.method),
            ("Settings", self.form),
            ("Probe prompts", self.probes),
            ("Where to run", self.where),
        ):
            layout.addWidget(_section(title))
            layout.addWidget(widget)
        layout.addStretch(1)
        self.setWidget(body)
        self.setMinimumWidth(400)

        self._cost_task = None
        self._cost_key = ""
        self.cost_pending = False  # an estimate is scheduled or running
        self._cost_again = False
        self._cost_timer = QTimer(self)
        self._cost_timer.setSingleShot(True)
        self._cost_timer.setInterval(350)
        self._cost_timer.timeout.connect(self._estimate)
        self.model_picker.changed.connect(self._schedule_costs)
        self.method.changed.connect(self._on_method)
        self.form.changed.connect(self._on_form)
        self.dataset_picker.changed.connect(self._on_dataset)
        self._on_dataset()
        self._on_method(self.method.method())
        self._schedule_costs()
        self.where.show_config(self._config_or_none())

    # reactions ----------------------------------------------------------------------------------
    def _on_dataset(self) -> None:
        path = self.dataset_picker.current_path()
        self.probes.set_examples(validation_prompts(path) if path else [])
        self.changed.emit()

    def _on_method(self, method: str) -> None:
        for name, editor in self.form.editors.items():
            if name.startswith("lora_"):
                editor.widget.setEnabled(method == "lora")
        learning_rate = self.form.editors.get("learning_rate")
        default = default_learning_rates().get(method)
        if learning_rate is not None and default is not None:
            learning_rate.widget.setPlaceholderText(f"auto ({default:g})")
        self.changed.emit()

    def _on_form(self) -> None:
        self._schedule_costs()
        self.where.show_config(self._config_or_none())
        self.changed.emit()

    def _config_or_none(self):
        try:
            return self.config_cls(**{**self.form.values(), "method": self.method.method()})
        except (UserError, TypeError):
            return None

    def _schedule_costs(self) -> None:
        self.cost_pending = True
        self._cost_timer.start()

    # cost estimate (worker) -----------------------------------------------------------------------
    def _cost_request(self) -> CostRequest | None:
        try:
            spec = self.model_picker.spec()
        except UserError as exc:
            self.method.show_unknown(exc.one_line())
            return None
        values = {}
        for name in COST_FIELDS:
            if name in self.form.editors:
                try:
                    values[name] = self.form.editors[name].get(self.form.labels[name])
                except UserError:
                    values[name] = None
        return CostRequest(
            spec=spec,
            batch_size=values.get("batch_size") or 1,
            max_length=values.get("max_length") or 512,
            lora_r=values.get("lora_r") or 16,
            target_modules=values.get("lora_target_modules") or None,
            gradient_checkpointing=bool(values.get("gradient_checkpointing")),
            precision=values.get("precision") or "auto",
        )

    def _estimate(self) -> None:
        if self._cost_task is not None and self._cost_task.is_running():
            self._cost_again = True
            return
        request = self._cost_request()
        if request is None:
            self.cost_pending = False
            return
        self._cost_key = repr(request.spec)
        config = _MODEL_CONFIGS.get(self._cost_key)
        self.method.show_pending("estimating…" if config is not None else "reading the model configuration…")
        # not parented to the page: a config read (seconds) may outlive a closed page harmlessly
        task = quit_when_done(run_in_thread(None, estimate_costs, request, config))
        task.worker.progress.connect(self._on_cost_progress)
        task.worker.finished.connect(self._on_costs)
        task.worker.failed.connect(self._on_cost_failed)
        task.worker.done.connect(self._on_cost_done)
        self._cost_task = task

    def _on_cost_progress(self, _fraction, message: str) -> None:
        if message:
            self.method.show_pending(message + "…")

    def _on_cost_failed(self, message: str, _details: str, _user: bool) -> None:
        self.method.show_unknown(message)

    def _on_costs(self, result: dict) -> None:
        _MODEL_CONFIGS[self._cost_key] = result["config"]
        self.method.show_costs(result)

    def _on_cost_done(self) -> None:
        if self._cost_again:
            self._cost_again = False
            self._cost_timer.start()
        else:
            self.cost_pending = False

    def cost_task(self):
        return self._cost_task

    # the request --------------------------------------------------------------------------------
    def request(self):
        """``(ModelSpec, dataset folder, TrainConfig)``; raises :class:`UserError` with one line."""
        spec = self.model_picker.spec()
        data_dir = self.dataset_picker.current_path()
        if not data_dir:
            raise DataError("No dataset chosen; prepare one on the Data page, then pick it here.")
        if not (Path(data_dir) / "train.jsonl").is_file():
            raise DataError(f"Dataset folder {data_dir} has no train.jsonl; prepare the dataset again on the Data page.")
        values = self.form.values()
        values["method"] = self.method.method()
        values["probe_prompts"] = self.probes.prompts()
        try:
            config = self.config_cls(**values)
        except TrainingError as exc:
            # name the setting as the form labels it: 'batch_size' → 'Batch size'
            text = exc.one_line()
            for name, label in self.form.labels.items():
                text = text.replace(f"'{name}'", f"'{label}'")
            raise TrainingError(text) from None
        return spec, Path(data_dir), config

    def show_config(self, config) -> None:
        """Fill the form from a TrainConfig (a resumed run shows what it runs with)."""
        self.method.set_method(config.method)
        self.form.set_values(config.to_dict())
        self.probes.set_prompts(list(config.probe_prompts))

    def set_enabled_for_run(self, running: bool) -> None:
        self.widget().setEnabled(not running)

    def shutdown(self, timeout_ms: int) -> None:
        self._cost_timer.stop()
        self._cost_again = False
        if self._cost_task is not None and self._cost_task.is_running():
            self._cost_task.cancel()  # a config read cannot be interrupted; it ends within seconds
            self._cost_task.wait(timeout_ms)
