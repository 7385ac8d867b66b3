"""An inline message bar: expected failures are shown where they happened, not in pop-ups."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

_STYLES = {
    "error": ("#fdecea", "#b3261e", "✖"),
    "warning": ("#fff4e5", "#8a5300", "⚠"),
    "info": ("#e8f1fb", "#0b4f8a", "ℹ"),
    "success": ("#e7f5ea", "#1e6b32", "✔"),
}


class InlineMessage(QFrame):
    """A coloured, word-wrapped one-paragraph message with a close button; hidden when empty."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("InlineMessage")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self._icon = QLabel()
        self._text = QLabel()
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.clear)
        layout.addWidget(self._icon, 0, Qt.AlignTop)
        layout.addWidget(self._text, 1)
        layout.addWidget(close, 0, Qt.AlignTop)
        self.kind = ""
        self.hide()

    def text(self) -> str:
        return self._text.text() if self.isVisibleTo(self.parentWidget()) or self.kind else ""

    def show_message(self, kind: str, text: str) -> None:
        background, foreground, icon = _STYLES[kind]
        self.kind = kind
        self.setStyleSheet(
            f"#InlineMessage {{ background: {background}; border: 1px solid {foreground}; border-radius: 6px; }}"
            f" QLabel {{ color: {foreground}; }}"
        )
        self._icon.setText(icon)
        self._text.setText(text)
        self.show()

    def show_error(self, text: str) -> None:
        self.show_message("error", text)

    def show_warning(self, text: str) -> None:
        self.show_message("warning", text)

    def show_info(self, text: str) -> None:
        self.show_message("info", text)

    def show_success(self, text: str) -> None:
        self.show_message("success", text)

    def show_failure(self, text: str, is_user_error: bool, *, doing: str = "") -> str:
        """Show a worker's failure: an expected one (UserError) as it is, which already says what to do;
        an unexpected one as a short line, its traceback being in the app's one error window (the
        ErrorReporter opens it for every unexpected worker failure). Returns the text shown."""
        if not is_user_error:
            where = f" while {doing}" if doing else ""
            text = f"Something unexpected went wrong{where}: {text}. Nothing was overwritten; the details are in the error window."
        self.show_error(text)
        return text

    def clear(self) -> None:
        self.kind = ""
        self._text.setText("")
        self.hide()
