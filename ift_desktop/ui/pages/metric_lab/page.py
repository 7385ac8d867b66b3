"""The Metric lab: type references and a candidate, see every ROUGE and BLEU number and why, as you type.

Top: a lesson picker (the presets of ``resources/metric_lab_presets.yaml``, each with a one-sentence
takeaway) and stemming on/off. Then the texts (``editors.py``) beside the scores (``scores.py``), and
below them the same highlights and worked explanation as the Evaluate page's Examples tab — the very
widgets of ``ui/widgets/score_explanation.py``.

Scoring goes through :func:`~ift_desktop.core.evaluation.metric_lab.score_candidate`, i.e. the
``ift-desktop score`` code, in a worker: edits are debounced, one scoring runs at a time, and a result
whose texts are no longer the ones in the boxes is dropped (the newest texts are scored next), so
long texts never freeze the window. "Open in Metric lab" on an example of the Examples tab arrives
through ``AppContext.metric_lab_requested``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.evaluation.metric_lab import LabPreset, LabScores, load_presets, score_candidate
from ift_desktop.ui.task_runner import TaskRunner
from ift_desktop.ui.widgets.messages import InlineMessage
from ift_desktop.ui.widgets.score_explanation import (
    ExplanationPanel,
    HighlightPane,
    OverlapKindBar,
    kind_numbers_html,
)
from ift_desktop.ui.workers import TaskHandle

from .editors import TextsEditor
from .scores import ScoreTables

DEBOUNCE_MS = 150
OWN_TEXTS = ""  # the picker's entry for texts of the user's own
_OWN_HINT = (
    "Your own texts: type a reference and a candidate, or pick a lesson above. Every number updates as you type."
)
_ERASED_TEXT = (
    "ROUGE keeps only the letters a-z and the digits 0-9, so it erases most letters of these texts and "
    "scores them near 0; BLEU keeps every letter. Published ROUGE numbers have the same blind spot."
)
_TAKEAWAY_STYLE = (
    "QLabel { background: #e8f1fb; color: #0b3a66; border: 1px solid #b9d3f0; border-radius: 6px; padding: 6px 10px; }"
)


class MetricLabPage(QWidget):
    def __init__(self, context=None, parent=None):
        super().__init__(parent)
        self.context = context
        self.presets: dict[str, LabPreset] = {p.key: p for p in load_presets()}
        self.scores: LabScores | None = None
        self._pending = False  # texts changed while a scoring ran: score again when it ends
        self._dirty = False  # texts changed while hidden: score when shown

        title = QLabel("Metric lab")
        title.setObjectName("PageTitle")
        intro = QLabel(
            "What do ROUGE and BLEU reward? Edit the texts: every score, highlight and explanation follows as you type."
        )
        intro.setToolTip("The numbers are those of `ift-desktop score` on the same texts")
        intro.setObjectName("Hint")
        intro.setWordWrap(True)
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("Your own texts", OWN_TEXTS)
        for preset in self.presets.values():
            self.preset_combo.addItem(preset.title, preset.key)
        self.preset_combo.setToolTip("Lessons: texts that show a classic pitfall of word-overlap scores")
        self.stemming = QCheckBox("Stemming")
        self.stemming.setChecked(True)
        self.stemming.setToolTip(
            "ROUGE cuts words to their stem first ('running' → 'run'), as published ROUGE does; BLEU never stems"
        )
        self.timing = QLabel()
        self.timing.setObjectName("Hint")
        self.timing.setToolTip("How long the last scoring took")
        picker = QHBoxLayout()
        picker.addWidget(QLabel("Lesson:"))
        picker.addWidget(self.preset_combo, 1)
        picker.addSpacing(12)
        picker.addWidget(self.stemming)
        picker.addSpacing(12)
        picker.addWidget(self.timing)
        self.takeaway = QLabel()
        self.takeaway.setWordWrap(True)
        self.takeaway.setStyleSheet(_TAKEAWAY_STYLE)
        self.message = InlineMessage()
        # one scoring at a time; texts changed meanwhile are scored when it ends (``_pending``)
        self.runner = TaskRunner(self, message=self.message, clears_message=False)
        self.runner.busy_changed.connect(self._on_busy_changed)

        self.editor = TextsEditor()
        self.tables = ScoreTables()
        top = QSplitter(Qt.Horizontal)
        top.addWidget(self.editor)
        tables_scroll = QScrollArea()
        tables_scroll.setWidgetResizable(True)
        tables_scroll.setFrameShape(QScrollArea.NoFrame)
        tables_scroll.setWidget(self.tables)
        top.addWidget(tables_scroll)
        top.setChildrenCollapsible(False)
        top.setSizes([400, 440])

        self.kind_bar = OverlapKindBar()
        self.reference_pane = HighlightPane("Reference")
        self.candidate_pane = HighlightPane("Candidate")
        self.explanation = ExplanationPanel()
        panes = QSplitter(Qt.Horizontal)
        for widget in (self.reference_pane, self.candidate_pane, self.explanation):
            panes.addWidget(widget)
        panes.setChildrenCollapsible(False)
        panes.setSizes([240, 240, 360])
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 4, 0, 0)
        bottom_layout.setSpacing(6)
        bottom_layout.addWidget(self.kind_bar)
        bottom_layout.addWidget(panes, 1)
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([330, 270])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(6)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(picker)
        layout.addWidget(self.takeaway)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._start_scoring)
        self.editor.texts_changed.connect(self._on_texts_changed)
        self.stemming.toggled.connect(lambda _on: self._schedule())
        self.preset_combo.activated.connect(self._on_preset_picked)  # also when the same lesson is picked again
        self.kind_bar.kind_changed.connect(lambda _kind: self._show_overlap())
        if context is not None:
            context.metric_lab_requested.connect(self._on_requested)
        self.apply_preset(next(iter(self.presets)))

    # api ----------------------------------------------------------------------------------------
    def apply_preset(self, key: str) -> None:
        """Load a lesson's texts, its first highlight and its takeaway."""
        preset = self.presets[key]
        self._select_in_picker(key)
        self.kind_bar.set_kind(preset.highlight)
        self.editor.set_texts(preset.candidate, list(preset.references))
        self._show_takeaway()

    def open_texts(self, candidate: str, references: list[str]) -> None:
        """Show texts of the user's own (e.g. an example of the Examples tab)."""
        self._select_in_picker(OWN_TEXTS)
        self.editor.set_texts(candidate, references)
        self._show_takeaway()

    def current_inputs(self) -> tuple[str, tuple[str, ...], bool]:
        return self.editor.candidate_text(), tuple(self.editor.references()), self.stemming.isChecked()

    def is_up_to_date(self) -> bool:
        """True when the shown numbers belong to the texts and settings in the boxes now."""
        scores = self.scores
        return scores is not None and (scores.candidate, scores.references, scores.use_stemmer) == self.current_inputs()

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._debounce.stop()
        self._pending = False
        self.runner.shutdown(timeout_ms)

    # scoring ------------------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._dirty:
            self._schedule()

    def _on_texts_changed(self) -> None:
        self._show_takeaway()
        self._schedule()

    def _schedule(self) -> None:
        if not self.isVisible():  # a hidden page scores nothing; it catches up when shown
            self._dirty = True
            return
        self._dirty = False
        self._debounce.start()

    def _start_scoring(self) -> None:
        if self.runner.is_busy():
            self._pending = True
            return
        self._pending = False
        candidate, references, use_stemmer = self.current_inputs()
        self.runner.start(score_candidate, candidate, references, use_stemmer=use_stemmer, on_done=self._on_scored)

    def _on_scored(self, scores: LabScores) -> None:
        if (scores.candidate, scores.references, scores.use_stemmer) != self.current_inputs():
            return  # outdated: the newest texts are scored next
        self.scores = scores
        if any(w.get("code") == "erased_text" for w in scores.warnings):
            self.message.show_warning(_ERASED_TEXT)
        else:
            self.message.clear()
        self.tables.show_scores(scores)
        self.editor.show_alone(scores)
        self.timing.setText(f"scored in {scores.seconds * 1000:.0f} ms")
        self._show_overlap()

    def _on_busy_changed(self, busy: bool) -> None:
        if not busy and self._pending:
            self._start_scoring()

    @property
    def _task(self) -> TaskHandle | None:
        return self.runner.task

    # showing ------------------------------------------------------------------------------------
    def _show_overlap(self) -> None:
        kind, scores = self.kind_bar.kind, self.scores
        if scores is None:
            self.reference_pane.clear()
            self.candidate_pane.clear()
            self.explanation.show_example(None, kind, "")
            return
        example = scores.example
        index = example["best_reference_index"]
        title = "Reference"
        if len(scores.references) > 1:
            title += f" {index + 1} of {len(scores.references)} (best ROUGE-L match)"
        self.reference_pane.title.setText(title)
        self.reference_pane.show_overlap(
            scores.references[index], example, kind, "reference", empty_text="(empty reference)"
        )
        self.candidate_pane.show_overlap(
            scores.candidate, example, kind, "prediction", empty_text="(empty candidate — every score is 0)"
        )
        self.candidate_pane.numbers.setText(kind_numbers_html(example, kind))
        self.explanation.show_example(example, kind, "Candidate")

    def _show_takeaway(self) -> None:
        key = self.preset_combo.currentData()
        preset = self.presets.get(key)
        if preset is None:
            self.takeaway.setText(_OWN_HINT)
            return
        text = preset.takeaway
        if (self.editor.candidate_text(), tuple(self.editor.references())) != (preset.candidate, preset.references):
            text += "  (You edited the lesson's texts; pick it again to restore them.)"
        self.takeaway.setText(text)

    def _on_preset_picked(self, _index: int) -> None:
        key = self.preset_combo.currentData()
        if key in self.presets:
            self.apply_preset(key)
        else:
            self._show_takeaway()

    def _select_in_picker(self, key: str) -> None:
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(max(0, self.preset_combo.findData(key)))
        self.preset_combo.blockSignals(False)

    def _on_requested(self, candidate: str, references: list) -> None:
        self.open_texts(candidate, [str(r) for r in references])
        if self.context is not None:
            self.context.navigate.emit("metric_lab")
