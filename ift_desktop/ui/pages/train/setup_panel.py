"""The left side of the Train page: everything chosen before pressing Start.

Model, dataset, method (with trainable parameters and memory estimates computed in a worker),
hyper-parameters (from ``TrainConfig``) and probe prompts. :meth:`SetupPanel.request` turns the
choices into ``(ModelSpec, dataset folder, TrainConfig)`` or raises a ``UserError`` whose one line
the page shows inline.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from ift_desktop.core.errors import DataError, UserError
from ift_desktop.ui.task_runner import TaskRunner

from .hyperparams import HyperParameterForm
from .method import CostRequest, MethodChooser, estimate_costs
from .pickers import DatasetPicker, ModelPicker
from .probes import ProbeEditor
from .where_to_run import WhereToRun

# Fields whose change alters the memory estimate.
COST_FIELDS = (
    "batch_size",
    "max_length",
    "lora_r",
    "lora_layers",
    "lora_target_modules",
    "gradient_checkpointing",
    "precision",
    "memory",
)
PROBE_EXAMPLES = 20  # validation prompts offered by "Pin one from the dataset"
_MODEL_CONFIGS: dict[str, object] = {}  # repr(ModelSpec) → its transformers config, read once per process


def train_config_class():
    from ift_desktop.core.training.config import TrainConfig

    return TrainConfig


def default_learning_rates() -> dict[str, float]:
    from ift_desktop.core.training.config import DEFAULT_LR

    return dict(DEFAULT_LR)


def resolve_dataset_max_length(spec, data_dir, state=None) -> tuple[str, int, str]:
    """``(data_dir, max length, why)``: what a run of ``spec`` on ``data_dir`` uses by default (a worker).

    The tokenizer goes back to the spares when done: a run started next takes it instead of building one
    (the window freezes while a tokenizer is built)."""
    from ift_desktop.core.models import is_seq2seq_model, load_tokenizer
    from ift_desktop.core.models.spare_tokenizers import give_back
    from ift_desktop.core.training.data import dataset_max_length

    is_seq2seq = is_seq2seq_model(spec, state)
    tokenizer = load_tokenizer(spec, state)
    length, why = dataset_max_length(data_dir, tokenizer, is_seq2seq=is_seq2seq, use_chat_template=None, state=state)
    give_back(tokenizer)
    return str(data_dir), length, why


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


def fit_eval_interval(max_steps: int | None, eval_steps: int | None) -> tuple[int | None, str]:
    """An evaluation interval a short run reaches: ``(interval to use, note for the user)``.

    8 steps with "evaluate every 20" would give no validation loss and no probe answers at all; such a
    run evaluates halfway and at the end instead (every ceil(steps / 2) steps), and the note says so."""
    if not max_steps or not eval_steps or eval_steps <= max_steps:
        return eval_steps, ""
    fitted = max(1, -(-max_steps // 2))
    return fitted, (
        f"With {max_steps} steps, evaluating every {eval_steps} would never check the validation loss "
        f"or the probes: this run evaluates every {fitted} steps instead."
    )


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
        self.form = HyperParameterForm(self.config_cls)  # the rows, labels and fold from TrainConfig's metadata
        self.probes = ProbeEditor()
        self.eval_note = QLabel()  # says when a short run's evaluation interval is adapted
        self.eval_note.setWordWrap(True)
        self.eval_note.setObjectName("Hint")
        self.eval_note.hide()
        settings_box = QWidget()
        settings_layout = QVBoxLayout(settings_box)
        settings_layout.setContentsMargins(0, 0, 0, 0)
        settings_layout.addWidget(self.form)
        settings_layout.addWidget(self.eval_note)
        self.where = WhereToRun()
        for title, widget in (
            ("Base model", self.model_picker),
            ("Dataset", self.dataset_picker),
            ("Method", self.method),
            ("Settings", settings_box),
            ("Probe prompts", self.probes),
            ("Where to run", self.where),
        ):
            layout.addWidget(_section(title))
            layout.addWidget(widget)
        layout.addStretch(1)
        self.setWidget(body)
        self.setMinimumWidth(360)

        # background lanes; not children of the page's threads: a config read (seconds) may outlive a
        # closed page harmlessly. A new dataset outdates the running length measurement.
        self._cost_runner = TaskRunner(self, detached=True)
        self._cost_runner.busy_changed.connect(self._on_cost_busy_changed)
        self._length_runner = TaskRunner(self, detached=True)
        self._cost_key = ""
        self.cost_pending = False  # an estimate is scheduled or running
        self._cost_again = False
        self._cost_timer = QTimer(self)
        self._cost_timer.setSingleShot(True)
        self._cost_timer.setInterval(350)
        self._cost_timer.timeout.connect(self._estimate)
        self.dataset_max_length: int | None = None  # what "from the dataset" means for the chosen data
        self.code_loaded = False  # set by the page once its worker imported the training code
        self.model_picker.changed.connect(self._schedule_costs)
        self.model_picker.changed.connect(self._resolve_max_length)
        self.method.changed.connect(self._on_method)
        self.form.changed.connect(self._on_form)
        self.where.changed.connect(self._schedule_costs)  # a run in the app adds the window's own memory
        self.dataset_picker.changed.connect(self._on_dataset)
        self._on_dataset()
        self._on_method(self.method.method())
        self._show_eval_note()
        self._schedule_costs()
        self.where.show_config(self._config_or_none())

    # reactions ----------------------------------------------------------------------------------
    def _on_dataset(self) -> None:
        path = self.dataset_picker.current_path()
        self.probes.set_examples(validation_prompts(path) if path else [])
        self._resolve_max_length()
        self.changed.emit()

    def _resolve_max_length(self) -> None:
        """Show the max length a run on this dataset uses when the field is left empty (a worker:
        it may tokenize the training split)."""
        self.dataset_max_length = None
        editor = self.form.editors.get("max_length")
        path = self.dataset_picker.current_path()
        if editor is None or not path:
            return
        editor.widget.setSpecialValueText(editor.info.empty + " (measuring)")
        if not self.code_loaded:
            return  # transformers is being imported in another worker; code_ready() measures then
        try:
            spec = self.model_picker.spec()
        except UserError:
            return
        self._length_runner.start(
            resolve_dataset_max_length, spec, path, on_done=self._on_max_length, on_failed=self._on_max_length_failed
        )

    def code_ready(self) -> None:
        """The training code (transformers) is imported: workers may use it without racing its import."""
        self.code_loaded = True
        self._resolve_max_length()

    def _on_max_length_failed(self, *_details) -> None:
        editor = self.form.editors["max_length"]
        editor.widget.setSpecialValueText(editor.info.empty)

    def _on_max_length(self, result) -> None:
        _data_dir, length, why = result
        editor = self.form.editors["max_length"]
        self.dataset_max_length = length
        editor.widget.setSpecialValueText(f"{editor.info.empty} ({length})")
        editor.widget.setToolTip(
            f"{editor.info.empty} = {length} tokens for this dataset ({why}).\n\n" + editor.info.help
        )
        self._schedule_costs()

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
        self._show_eval_note()
        self.where.show_config(self._config_or_none())
        self.changed.emit()

    def _show_eval_note(self) -> None:
        values = {}
        for name in ("max_steps", "eval_steps"):
            editor = self.form.editors.get(name)
            try:
                values[name] = editor.get(self.form.labels[name]) if editor is not None else None
            except UserError:
                values[name] = None
        _fitted, note = fit_eval_interval(values["max_steps"], values["eval_steps"])
        self.eval_note.setText(note)
        self.eval_note.setVisible(bool(note))

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
            max_length=values.get("max_length") or self.dataset_max_length or 512,
            lora_r=values.get("lora_r") or 16,
            lora_layers=values.get("lora_layers") or None,
            target_modules=values.get("lora_target_modules") or None,
            gradient_checkpointing=bool(values.get("gradient_checkpointing")),
            precision=values.get("precision") or "auto",
            memory=values.get("memory") or "auto",
            in_app=not self.where.separate(),
        )

    def _estimate(self) -> None:
        if self._cost_runner.is_busy():
            self._cost_again = True
            return
        request = self._cost_request()
        if request is None:
            self.cost_pending = False
            return
        self._cost_key = repr(request.spec)
        config = _MODEL_CONFIGS.get(self._cost_key)
        self.method.show_pending("estimating…" if config is not None else "reading the model configuration…")
        self._cost_runner.start(
            estimate_costs,
            request,
            config,
            on_done=self._on_costs,
            on_failed=self.method.show_unknown,
            on_progress=self._on_cost_progress,
        )

    def _on_cost_progress(self, _fraction, message: str) -> None:
        if message:
            self.method.show_pending(message + "…")

    def _on_costs(self, result: dict) -> None:
        _MODEL_CONFIGS[self._cost_key] = result["config"]
        self.method.show_costs(result)

    def _on_cost_busy_changed(self, busy: bool) -> None:
        if busy:
            return
        if self._cost_again:
            self._cost_again = False
            self._cost_timer.start()
        else:
            self.cost_pending = False

    # the request --------------------------------------------------------------------------------
    def request(self):
        """``(ModelSpec, dataset folder, TrainConfig)``; raises :class:`UserError` with one line."""
        spec = self.model_picker.spec()
        data_dir = self.dataset_picker.current_path()
        if not data_dir:
            raise DataError("No dataset chosen; prepare one on the Data page, then pick it here.")
        if not (Path(data_dir) / "train.jsonl").is_file():
            raise DataError(
                f"Dataset folder {data_dir} has no train.jsonl; prepare the dataset again on the Data page."
            )
        values = self.form.values()
        values["method"] = self.method.method()
        values["probe_prompts"] = self.probes.prompts()
        config = self.config_cls(**values)  # a bad value names the setting by its label (core's wording)
        fitted, _note = fit_eval_interval(config.max_steps, config.eval_steps)
        if fitted != config.eval_steps:
            config = dataclasses.replace(config, eval_steps=fitted)
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
        self._cost_runner.shutdown(timeout_ms)  # a config read cannot be interrupted; it ends within seconds
        self._length_runner.shutdown(timeout_ms)  # tokenizing checks the cancel between examples
