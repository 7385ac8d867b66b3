"""A read-only Qt table model over a list of records (column → value), for previews."""

from __future__ import annotations

import json

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

_CELL_CHARS = 200


def cell_text(value: object) -> str:
    """A one-line, length-capped rendering of a cell (lists and dicts as JSON)."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"


class RecordsModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._records: list[dict] = []
        self._columns: list[str] = []

    def set_records(self, records: list[dict], columns: list[str]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._columns = list(columns)
        self.endResetModel()

    def columns(self) -> list[str]:
        return list(self._columns)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        value = self._records[index.row()].get(self._columns[index.column()])
        if role == Qt.DisplayRole:
            return cell_text(value)
        if role == Qt.ToolTipRole:
            text = value if isinstance(value, str) else cell_text(value)
            return text[:2000]
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802 - Qt API
        if role != Qt.DisplayRole:
            return None
        if orientation == Qt.Horizontal:
            return self._columns[section] if section < len(self._columns) else None
        return str(section + 1)
