"""Qt calls must not eat references to None (PySide6 6.12.0 on Python 3.11 did, and the app aborted
with "none_dealloc" a minute into a training run). Guards the pin in pyproject.toml."""

import sys

from PySide6.QtWidgets import QLabel

import ift_desktop.ui  # noqa: F401 - applies the guard where it is needed


def test_void_qt_calls_keep_none_alive(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
    assert sys.getrefcount(None) - before > -100
