"""A page that explains a step of the work before its controls exist (no fake controls)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class IntroPage(QWidget):
    def __init__(self, context, title: str, body_html: str, first_step: tuple[str, str] | None = None, parent=None):
        super().__init__(parent)
        self.context = context
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 28, 32, 28)
        heading = QLabel(title)
        heading.setObjectName("PageTitle")
        body = QLabel(body_html)
        body.setWordWrap(True)
        body.setTextFormat(Qt.RichText)
        body.setMaximumWidth(760)
        layout.addWidget(heading)
        layout.addWidget(body)
        if first_step:
            label, page = first_step
            button = QPushButton(label)
            button.setMaximumWidth(280)
            button.clicked.connect(lambda: context.navigate.emit(page))
            layout.addWidget(button)
        layout.addStretch(1)
