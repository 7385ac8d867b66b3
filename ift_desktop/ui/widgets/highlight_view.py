"""Read-only text with highlighted token spans, a tooltip per highlighted token, and a colour legend.

``HighlightView.set_content(text, spans, colours)`` shows ``text`` exactly as given and colours the
character ranges of ``spans`` (objects with ``start``, ``end``, ``category`` and ``tooltip``, the
positions being Python string indices into ``text``, e.g. the metric's token spans). Hovering a
highlighted token shows its tooltip. :meth:`HighlightView.drawn_spans` reads the ranges back from the
document's formats, so tests check what is really drawn. :class:`HighlightLegend` shows one swatch per
category.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QTextEdit, QToolTip, QWidget

from ift_desktop.ui.widgets.flow_layout import FlowLayout, flow_policy

_CATEGORY = QTextFormat.UserProperty + 1
_SPAN = QTextFormat.UserProperty + 2


def _utf16_offsets(text: str) -> list[int]:
    """``offsets[i]`` = the UTF-16 position of Python index ``i`` (Qt documents count UTF-16 units)."""
    if len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text):  # no character outside the BMP
        return list(range(len(text) + 1))
    offsets, pos = [], 0
    for ch in text:
        offsets.append(pos)
        pos += 2 if ord(ch) > 0xFFFF else 1
    offsets.append(pos)
    return offsets


class HighlightView(QTextEdit):
    """A text pane whose highlighted tokens explain themselves on hover."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QTextEdit.WidgetWidth)
        self.setFrameShape(QFrame.StyledPanel)
        self.setMouseTracking(True)
        self.setStyleSheet("QTextEdit { font-size: 11pt; background: #ffffff; }")
        self._text = ""
        self._spans: list = []
        self._offsets: list[int] = [0]

    # content ------------------------------------------------------------------------------------
    def set_content(self, text: str, spans=(), colours: dict[str, str] | None = None, empty_text: str = "") -> None:
        """Show ``text`` with ``spans`` coloured by ``colours[span.category]``."""
        # A carriage return would become a block break and shift every later position; show it as a space.
        shown = text.replace("\r\n", " \n").replace("\r", " ").replace("\u2029", " ").replace("\u2028", " ")
        self._text = text
        self._offsets = _utf16_offsets(text)
        self._spans = sorted((s for s in spans if 0 <= s.start < s.end <= len(text)), key=lambda s: s.start)
        self.setPlaceholderText(empty_text)
        # Start from a plain format, or the last highlight's format would spread over the new text.
        self.document().clear()
        self.setCurrentCharFormat(QTextCharFormat())
        self.setPlainText(shown)
        colours = colours or {}
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()  # one layout pass for all spans, not one per span
        for number, span in enumerate(self._spans):
            fmt = QTextCharFormat()
            fmt.setBackground(QColor(colours.get(span.category, "#ffe08a")))
            fmt.setProperty(_CATEGORY, span.category)
            fmt.setProperty(_SPAN, number)
            cursor.setPosition(self._offsets[span.start])
            cursor.setPosition(self._offsets[span.end], QTextCursor.KeepAnchor)
            cursor.mergeCharFormat(fmt)
        cursor.endEditBlock()
        self.moveCursor(QTextCursor.Start)
        self.setCurrentCharFormat(QTextCharFormat())

    def text(self) -> str:
        return self._text

    def spans(self) -> list:
        return list(self._spans)

    def drawn_spans(self) -> list[tuple[int, int, str]]:
        """(start, end, category) per coloured range, read back from the document, in Python indices.

        Every run of characters with a background counts, so a colour leaking past a span shows up here.
        """
        back = {utf16: i for i, utf16 in enumerate(self._offsets)}
        ranges: list[list] = []
        block = self.document().begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                fragment = it.fragment()
                fmt = fragment.charFormat()
                if fragment.isValid() and fmt.hasProperty(QTextFormat.BackgroundBrush):
                    start, end = fragment.position(), fragment.position() + fragment.length()
                    number, category = fmt.property(_SPAN), fmt.property(_CATEGORY)
                    if ranges and ranges[-1][3] == number and ranges[-1][1] == start:
                        ranges[-1][1] = end  # one span split over several fragments
                    else:
                        ranges.append([start, end, category, number])
                it += 1
            block = block.next()
        return [(back.get(s, s), back.get(e, e), c) for s, e, c, _n in ranges]

    def span_at(self, index: int):
        for span in self._spans:
            if span.start <= index < span.end:
                return span
        return None

    def tooltip_at(self, index: int) -> str:
        span = self.span_at(index)
        return span.tooltip if span is not None else ""

    # hover --------------------------------------------------------------------------------------
    def _index_at(self, point: QPoint) -> int | None:
        cursor = self.cursorForPosition(point)
        rect = self.cursorRect(cursor)
        position = cursor.position()
        # cursorForPosition returns the nearest gap between characters; pick the character under the mouse.
        if point.x() < rect.x() and position > 0:
            position -= 1
        for i, utf16 in enumerate(self._offsets[:-1]):
            if utf16 >= position:
                return i if utf16 == position else i - 1
        return None

    def event(self, event) -> bool:
        if event.type() == QEvent.ToolTip:
            viewport_pos = self.viewport().mapFromGlobal(event.globalPos())
            index = self._index_at(viewport_pos)
            tip = self.tooltip_at(index) if index is not None else ""
            if tip:
                QToolTip.showText(event.globalPos(), tip, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def viewportEvent(self, event) -> bool:
        if event.type() == QEvent.ToolTip:
            return self.event(event)
        return super().viewportEvent(event)


class HighlightLegend(QWidget):
    """A row of colour swatches with their meaning."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layout = FlowLayout(self, spacing=14)
        self.setSizePolicy(flow_policy())
        self._entries: list[tuple[str, str]] = []

    def set_entries(self, entries: list[tuple[str, str]]) -> None:
        """``entries`` = [(colour, meaning), ...]."""
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()
        self._entries = list(entries)
        for colour, meaning in entries:
            swatch = QLabel()
            swatch.setFixedSize(22, 14)
            swatch.setStyleSheet(f"background: {colour}; border: 1px solid #98a2b3; border-radius: 3px;")
            label = QLabel(meaning)
            label.setStyleSheet("color: #344054;")
            label.setWordWrap(True)  # a long meaning wraps in a narrow window
            entry = QWidget()
            row = QHBoxLayout(entry)
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(5)
            row.addWidget(swatch, 0, Qt.AlignVCenter)
            row.addWidget(label, 0, Qt.AlignVCenter)
            self._layout.addWidget(entry)
        self._layout.invalidate()
        self.updateGeometry()

    def entries(self) -> list[tuple[str, str]]:
        return list(self._entries)
