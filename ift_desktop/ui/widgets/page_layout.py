"""The layout a main page stands in: its header widgets stacked above a body that takes the spare height."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget


def page_column(page: QWidget, *header: QWidget, body: QWidget) -> QVBoxLayout:
    """Give ``page`` its layout: the ``header`` widgets (title, hint, message and progress lines) one
    under the other, then ``body``, stretched; returns the layout for what goes below the body."""
    layout = QVBoxLayout(page)
    layout.setContentsMargins(24, 20, 24, 16)
    for widget in header:
        layout.addWidget(widget)
    layout.addWidget(body, 1)
    return layout
