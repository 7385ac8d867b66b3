"""The table of examples: scores of base and fine-tuned per example and the gain, sortable and filterable.

One metric is shown at a time (a combo picks ROUGE-1/2/L/Lsum or BLEU); every column sorts
numerically (the proxy sorts on ``Qt.UserRole``). The filter keeps regressions only (fine-tuned
below base on the shown metric) and/or rows whose prompt, references or predictions contain the
search text.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ift_desktop.core.evaluation.report import METRIC_LABELS, METRICS, SIDE_LABELS, Comparison, format_score

COLUMNS = ("index", "reference", "base_text", "tuned_text", "base", "tuned", "gain")


def _snippet(text: str | None, width: int = 160) -> str:
    if text is None:
        return "—"
    flat = " ".join(text.split())
    if not flat:
        return "(empty)"
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class ExamplesModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self.metric = "rougeL"

    def set_comparison(self, comparison: Comparison | None) -> None:
        self.beginResetModel()
        self.comparison = comparison
        self.endResetModel()

    def set_metric(self, metric: str) -> None:
        self.metric = metric
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 4), self.index(self.rowCount() - 1, 6))
        self.headerDataChanged.emit(Qt.Horizontal, 4, 6)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() or self.comparison is None else len(self.comparison.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802 - Qt API
        if orientation != Qt.Horizontal or role not in (Qt.DisplayRole, Qt.ToolTipRole):
            return super().headerData(section, orientation, role)
        label = METRIC_LABELS[self.metric]
        if role == Qt.ToolTipRole:
            column = COLUMNS[section]
            if column in ("base", "tuned"):
                return f"{label} of the {'base' if column == 'base' else 'fine-tuned'} prediction"
            return f"{label}: fine-tuned minus base" if column == "gain" else None
        return {
            "index": "#",
            "reference": "Reference",
            "base_text": "Base prediction",
            "tuned_text": "Fine-tuned prediction",
            "base": "Base score",
            "tuned": "Tuned score",
            "gain": "Gain",
        }[COLUMNS[section]]

    def value(self, row: int, column: str):
        """The sort key of a cell: numbers for scores (None → −inf), text for texts."""
        item = self.comparison.rows[row]
        if column == "index":
            return item.index + 1
        if column == "reference":
            return item.references[0] if item.references else ""
        if column in ("base_text", "tuned_text"):
            return item.prediction(column[:-5]) or ""
        if column == "gain":
            return item.gain(self.metric)
        return item.score(column, self.metric)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid() or self.comparison is None:
            return None
        column = COLUMNS[index.column()]
        row = self.comparison.rows[index.row()]
        value = self.value(index.row(), column)
        if role == Qt.DisplayRole:
            if column == "index":
                return str(value)
            if column == "reference":
                return _snippet(value, 120)
            if column in ("base_text", "tuned_text"):
                return _snippet(row.prediction(column[:-5]))
            return format_score(self.metric, value, signed=column == "gain")
        if role == Qt.UserRole:
            if isinstance(value, str):
                return value.lower()
            return float("-inf") if value is None else float(value)
        if role == Qt.TextAlignmentRole and column not in ("reference", "base_text", "tuned_text"):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        if role == Qt.ForegroundRole and column == "gain" and value is not None:
            if value > 1e-12:
                return QBrush(QColor("#1e7b34"))
            if value < -1e-12:
                return QBrush(QColor("#b3261e"))
        if role == Qt.ToolTipRole and column in ("reference", "base_text", "tuned_text"):
            text = value if column == "reference" else row.prediction(column[:-5])
            return text or None
        return None


class ExamplesProxy(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(Qt.UserRole)
        self.regressions_only = False
        self.search = ""

    def set_filter(self, *, regressions_only: bool | None = None, search: str | None = None) -> None:
        self.beginFilterChange()
        if regressions_only is not None:
            self.regressions_only = regressions_only
        if search is not None:
            self.search = search.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row, source_parent) -> bool:  # noqa: N802 - Qt API
        model: ExamplesModel = self.sourceModel()
        row = model.comparison.rows[source_row]
        if self.regressions_only:
            gain = row.gain(model.metric)
            if gain is None or gain >= 0:
                return False
        if self.search:
            haystack = " ".join(
                [row.prompt, *row.references, row.prediction("base") or "", row.prediction("tuned") or ""]
            )
            if self.search not in haystack.lower():
                return False
        return True


class ExamplesPanel(QWidget):
    """Metric picker, filters and the table; emits the chosen example's row index."""

    example_selected = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = ExamplesModel(self)
        self.proxy = ExamplesProxy(self)
        self.proxy.setSourceModel(self.model)

        self.metric_combo = QComboBox()
        for metric in METRICS:
            self.metric_combo.addItem(METRIC_LABELS[metric], metric)
        self.metric_combo.setCurrentIndex(METRICS.index("rougeL"))
        self.metric_combo.setToolTip("The score the table shows, sorts by and compares for regressions")
        self.regressions = QCheckBox("Only regressions")
        self.regressions.setToolTip("Show only examples where the fine-tuned model scores below the base model")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search prompts, references and predictions…")
        self.search.setClearButtonEnabled(True)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: #667085;")

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Score:"))
        bar.addWidget(self.metric_combo)
        bar.addWidget(self.regressions)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        for column, width in zip(COLUMNS, (44, 220, 220, 220, 96, 96, 96)):
            self.table.setColumnWidth(COLUMNS.index(column), width)
        header.setSectionResizeMode(COLUMNS.index("tuned_text"), QHeaderView.Stretch)
        self.table.sortByColumn(0, Qt.AscendingOrder)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

        self.metric_combo.currentIndexChanged.connect(self._on_metric)
        self.regressions.toggled.connect(lambda on: self._refilter(regressions_only=on))
        self.search.textChanged.connect(lambda text: self._refilter(search=text))
        self.table.selectionModel().currentRowChanged.connect(self._on_current)

    # api ----------------------------------------------------------------------------------------
    def set_comparison(self, comparison: Comparison | None) -> None:
        self.model.set_comparison(comparison)
        both = comparison is not None and len(comparison.sides) == 2
        sides = comparison.sides if comparison is not None else []
        self.table.setColumnHidden(COLUMNS.index("base_text"), "base" not in sides)
        self.table.setColumnHidden(COLUMNS.index("base"), "base" not in sides)
        self.table.setColumnHidden(COLUMNS.index("tuned_text"), "tuned" not in sides)
        self.table.setColumnHidden(COLUMNS.index("tuned"), "tuned" not in sides)
        self.table.setColumnHidden(COLUMNS.index("gain"), not both)
        self.regressions.setEnabled(both)
        if not both:
            self.regressions.setChecked(False)
        self.regressions.setToolTip(
            "Show only examples where the fine-tuned model scores below the base model"
            if both
            else "Needs both a base and a fine-tuned evaluation"
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(
            COLUMNS.index("tuned_text"), QHeaderView.Stretch if "tuned" in sides else QHeaderView.Interactive
        )
        header.setSectionResizeMode(
            COLUMNS.index("base_text"), QHeaderView.Interactive if "tuned" in sides else QHeaderView.Stretch
        )
        self._update_count()
        if self.proxy.rowCount():
            self.select_row(self.proxy.mapToSource(self.proxy.index(0, 0)).row())

    def set_metric(self, metric: str) -> None:
        self.metric_combo.setCurrentIndex(METRICS.index(metric))

    def sort_by(self, column: str, order=Qt.DescendingOrder) -> None:
        self.table.sortByColumn(COLUMNS.index(column), order)

    def visible_rows(self) -> list[int]:
        """Source row indices in the order shown."""
        return [self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in range(self.proxy.rowCount())]

    def select_row(self, source_row: int) -> None:
        index = self.proxy.mapFromSource(self.model.index(source_row, 0))
        if index.isValid():
            self.table.setCurrentIndex(index)
            self.table.scrollTo(index)

    # internals ----------------------------------------------------------------------------------
    def _on_metric(self) -> None:
        self.model.set_metric(self.metric_combo.currentData())
        self.proxy.invalidate()
        self._update_count()

    def _refilter(self, **kwargs) -> None:
        self.proxy.set_filter(**kwargs)
        self._update_count()

    def _update_count(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        self.count_label.setText(f"{shown} of {total} examples" if shown != total else f"{total} examples")

    def _on_current(self, current, _previous) -> None:
        if current.isValid():
            self.example_selected.emit(self.proxy.mapToSource(current).row())


__all__ = ["ExamplesModel", "ExamplesPanel", "ExamplesProxy", "COLUMNS", "SIDE_LABELS"]
