"""Step 5 — statistics: token lengths with the chosen model's tokenizer, and what the model will see.

The tokenizer (the built-in model's by default) loads in a worker, then every example is
tokenized in a worker exactly as training will format it (``format_for_model``: chat template,
end-of-turn marker). The histogram shows total lengths with the max-length cutoff; moving the
max length re-judges the same lengths at once. "What the model will see" draws one example's
tokens in two colours: masked prompt tokens and trained completion tokens.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.errors import UserError
from ift_desktop.core.models.formatting import format_for_model
from ift_desktop.ui.widgets.histogram import LengthHistogram
from ift_desktop.ui.widgets.token_view import TokenView, token_pieces

from .jobs import load_tokenizer_for, measure
from .step import WizardStep, section_label


def _stats_line(name: str, d: dict) -> str:
    return f"{name}: median {d['median']:.0f}, 95% ≤ {d['p95']:.0f}, longest {d['max']}"


class StatsStep(WizardStep):
    title = "5 · Statistics"
    subtitle = "How long the examples are in the model's own tokens, and how many a maximum length would cut."

    def __init__(self, state, context, parent=None):
        super().__init__(state, context, parent)
        self.tokenizer_loader = load_tokenizer_for  # tests inject a tiny tokenizer here
        self.tokenizer = None
        self.is_seq2seq = False
        self._tokenizer_for: str | None = None
        self.stats = None
        self._stats_key: tuple | None = None

        top = QHBoxLayout()
        top.addWidget(QLabel("Model"))
        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.addItem("builtin")
        self.model_combo.setMinimumWidth(220)
        self.model_combo.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.model_combo.setToolTip("'builtin' (SmolLM2-135M-Instruct), a Hugging Face Hub id, or a model folder.")
        self.model_combo.setCurrentText(state.model_text)
        top.addWidget(self.model_combo)
        self.measure_button = QPushButton("Measure")
        self.measure_button.clicked.connect(self.start)
        top.addWidget(self.measure_button)
        top.addStretch(1)
        self.body.addLayout(top)
        top = QHBoxLayout()
        top.addWidget(QLabel("Max length"))
        self.max_spin = QSpinBox()
        self.max_spin.setRange(8, 131072)
        self.max_spin.setSingleStep(32)
        self.max_spin.setValue(state.max_length)
        self.max_spin.setSuffix(" tokens")
        self.max_spin.valueChanged.connect(self._max_length_changed)
        top.addWidget(self.max_spin)
        self.suggest_button = QPushButton("Fit 99%")
        self.suggest_button.setToolTip("The smallest multiple of 32 that keeps 99% of the examples whole.")
        self.suggest_button.clicked.connect(self._suggest)
        top.addWidget(self.suggest_button)
        top.addStretch(1)
        self.body.addLayout(top)
        self.tokenizer_label = QLabel("")
        self.tokenizer_label.setObjectName("Hint")
        self.body.addWidget(self.tokenizer_label)

        split = QSplitter(Qt.Vertical)
        upper = QWidget()
        upper_box = QHBoxLayout(upper)
        upper_box.setContentsMargins(0, 0, 0, 0)
        self.histogram = LengthHistogram()
        upper_box.addWidget(self.histogram, 3)
        self.numbers = QLabel("")
        self.numbers.setWordWrap(True)
        self.numbers.setTextFormat(Qt.RichText)
        self.numbers.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        numbers_scroll = QScrollArea()  # a short window scrolls the numbers instead of cutting them off
        numbers_scroll.setWidgetResizable(True)
        numbers_scroll.setFrameShape(QFrame.NoFrame)
        numbers_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        numbers_scroll.setWidget(self.numbers)
        numbers_scroll.setMinimumWidth(200)
        numbers_scroll.setMaximumWidth(320)
        upper_box.addWidget(numbers_scroll, 1)
        lower = QWidget()
        lower_box = QVBoxLayout(lower)
        lower_box.setContentsMargins(0, 0, 0, 0)
        pick = QHBoxLayout()
        pick.addWidget(section_label("What the model will see — example"))
        self.example_spin = QSpinBox()
        self.example_spin.setRange(1, 1)
        self.example_spin.valueChanged.connect(self.show_example)
        pick.addWidget(self.example_spin)
        self.example_of = QLabel("")
        pick.addWidget(self.example_of)
        self.longest_button = QPushButton("Show the longest")
        self.longest_button.clicked.connect(self._show_longest)
        pick.addWidget(self.longest_button)
        pick.addStretch(1)
        lower_box.addLayout(pick)
        self.token_view = TokenView()
        lower_box.addWidget(self.token_view, 1)
        split.addWidget(upper)
        split.addWidget(lower)
        split.setSizes([360, 260])
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        self.body.addWidget(split, 1)

    # wizard ------------------------------------------------------------------------------------
    def enter(self) -> None:
        key = (self.state.plan_key, self.model_combo.currentText().strip())
        if key != self._stats_key:
            self.start()

    def commit(self) -> bool:
        self.state.max_length = int(self.max_spin.value())
        self.state.model_text = self.model_combo.currentText().strip() or "builtin"
        return True  # statistics inform; they never block saving

    # work --------------------------------------------------------------------------------------
    def examples(self) -> list[dict]:
        return self.state.all_examples()

    def start(self) -> None:
        model_text = self.model_combo.currentText().strip() or "builtin"
        if self.tokenizer is None or self._tokenizer_for != model_text:
            self.tokenizer = None
            self.runner.start(
                self._load,
                model_text,
                progress_text=f"Loading the tokenizer of {model_text}…",
                on_done=lambda result: self._tokenizer_loaded(model_text, result),
            )
        else:
            self._measure()

    def _load(self, model_text: str, *, state=None):
        return self.tokenizer_loader(model_text, state=state)

    def _tokenizer_loaded(self, model_text: str, result) -> None:
        self.tokenizer, self.is_seq2seq = result
        self._tokenizer_for = model_text
        self.state.model_text = model_text
        kind = "seq2seq: the prompt is the encoder input" if self.is_seq2seq else "causal LM"
        chat = getattr(self.tokenizer, "chat_template", None) and not self.is_seq2seq
        self.tokenizer_label.setText(
            f"Tokenizer of {model_text} ({kind}{' · chat template applied' if chat else ''}), "
            f"{len(self.tokenizer):,} tokens in its vocabulary."
        )
        self._measure()

    def _measure(self) -> None:
        examples = self.examples()
        if not examples:
            self.fail("There are no examples yet; go back to 'Split and mixture' and let them be prepared.")
            return
        key = (self.state.plan_key, self._tokenizer_for)

        def measured(stats):
            self._stats_key = key
            self.stats = stats
            self.example_spin.setRange(1, len(examples))
            self.example_of.setText(f"of {len(examples):,}")
            self._judge()
            self.show_example()

        self.runner.start(
            measure,
            examples,
            self.tokenizer,
            progress_text=f"Tokenizing {len(examples):,} examples…",
            max_length=int(self.max_spin.value()),
            is_seq2seq=self.is_seq2seq,
            on_done=measured,
        )

    # display -----------------------------------------------------------------------------------
    def _max_length_changed(self) -> None:
        self.state.max_length = int(self.max_spin.value())
        if self.stats is not None:
            self._judge()
            self.show_example()

    def _suggest(self) -> None:
        if self.stats is not None:
            self.max_spin.setValue(self.stats.suggested_max_length())

    def _judge(self) -> None:
        try:
            stats = self.stats.at(int(self.max_spin.value()))
        except UserError as exc:
            self.fail(exc)
            return
        self.stats = stats
        summary = stats.summary()
        plan = self._stats_key[0] if self._stats_key else None
        self.state.token_summary = {"model": self._tokenizer_for, "plan": plan, **summary}
        self.histogram.set_lengths(stats.total_lengths, stats.max_length, n_truncated=stats.n_truncated)
        lost = f"<br>{stats.n_completion_lost} lose their whole completion." if stats.n_completion_lost else ""
        colour = "#b3261e" if stats.n_truncated else "#1e6b32"
        self.numbers.setText(
            f"<p><b>{stats.count:,}</b> examples (all splits)</p>"
            f"<p>{_stats_line('Prompt', summary['prompt'])}<br>{_stats_line('Completion', summary['completion'])}"
            f"<br>{_stats_line('Total', summary['total'])}</p>"
            f"<p style='color:{colour};'><b>{stats.n_truncated:,}</b> truncated at {stats.max_length} tokens "
            f"({stats.share_truncated:.1%}).<br><b>{stats.n_completion_cut:,}</b> completions would be cut.{lost}</p>"
            f"<p style='color:#555;'>A max length of {summary['suggested_max_length']} keeps 99% whole.</p>"
        )

    def _show_longest(self) -> None:
        if self.stats is not None and self.stats.total_lengths:
            lengths = self.stats.total_lengths
            self.example_spin.setValue(max(range(len(lengths)), key=lengths.__getitem__) + 1)

    def show_example(self) -> None:
        examples = self.examples()
        if self.tokenizer is None or not examples:
            self.token_view.set_message("Load a tokenizer to see the tokens.")
            return
        example = examples[min(self.example_spin.value(), len(examples)) - 1]
        try:
            text = format_for_model(
                example["prompt"], example["completion"], self.tokenizer, is_seq2seq=self.is_seq2seq
            )
        except UserError as exc:
            self.token_view.set_message(exc.one_line())
            return
        pieces = token_pieces(
            self.tokenizer,
            text.prompt_ids,
            text.completion_ids,
            max_length=int(self.max_spin.value()),
            is_seq2seq=self.is_seq2seq,
        )
        self.token_view.set_pieces(pieces)
