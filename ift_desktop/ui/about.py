"""The About box: what this is, and the versions of everything underneath (for bug reports)."""

from __future__ import annotations

import platform

from PySide6.QtWidgets import QMessageBox

from ift_desktop.core.provenance import app_version, package_version

_PACKAGES = (
    "torch",
    "transformers",
    "peft",
    "datasets",
    "accelerate",
    "PySide6-Essentials",
    "pyqtgraph",
    "rouge_score",
    "sacrebleu",
    "gguf",
)


def version_rows() -> list[tuple[str, str]]:
    rows = [("IFT Desktop", app_version()), ("Python", platform.python_version())]
    rows += [(name, package_version(name) or "not installed") for name in _PACKAGES]
    return rows


def show_about(parent) -> QMessageBox:
    table = "".join(
        f"<tr><td>{name}</td><td style='padding-left:12px'>{version}</td></tr>" for name, version in version_rows()
    )
    box = QMessageBox(parent)
    box.setWindowTitle("About IFT Desktop")
    box.setText(
        "<h3>IFT Desktop</h3>"
        "<p>Instruction fine-tuning of language models on your own workstation — prepare data, try prompts, "
        "train with LoRA or in full, and see what the fine-tuning changed.</p>"
        "<p>The built-in model is SmolLM2-135M-Instruct (Apache-2.0) by Hugging Face.</p>"
        f"<table>{table}</table>"
    )
    box.show()
    return box
