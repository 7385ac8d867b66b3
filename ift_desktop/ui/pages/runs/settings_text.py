"""A run's settings in the Train page's own words: labels and units instead of config keys and raw JSON."""

from __future__ import annotations

import html

from ift_desktop.core.training.config import TrainConfig
from ift_desktop.core.training.setting_fields import settings_of

SETTINGS = {info.name: info for info in settings_of(TrainConfig)}  # labels and empty texts: TrainConfig's metadata
EXTRA_LABELS = {"schema_version": "Settings format"}
UNITS = {"max_steps": "steps", "eval_steps": "steps", "save_steps": "steps", "logging_steps": "steps"}
METHODS = {"lora": "LoRA (adapters)", "full": "Full fine-tuning"}
SHOWN_CHARS = 70


def setting_label(key: str) -> str:
    info = SETTINGS.get(key)
    return info.label if info is not None else EXTRA_LABELS.get(key) or key.replace("_", " ").capitalize()


def _short(text: str) -> str:
    """One line of a long text: line breaks shown as ↵, cut at SHOWN_CHARS characters."""
    one_line = " ↵ ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return one_line if len(one_line) <= SHOWN_CHARS else one_line[: SHOWN_CHARS - 1] + "…"


def setting_html(key: str, value) -> str:
    """The value as HTML a person reads: no quotes, brackets or escaped line breaks."""
    if value is None or value == "" or value == []:
        info = SETTINGS.get(key)
        return html.escape(info.empty if info is not None and info.optional else "—")
    if key == "method":
        return html.escape(METHODS.get(str(value), str(value)))
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float) and key == "learning_rate":
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        if key == "probe_prompts":
            items = "".join(f"<li>{html.escape(_short(v))}</li>" for v in value)
            return f"{len(value)} prompt{'s' if len(value) != 1 else ''}<ul style='margin:0'>{items}</ul>"
        return html.escape(", ".join(_short(v) for v in value))
    if isinstance(value, dict):
        return html.escape(", ".join(f"{k}: {_short(v)}" for k, v in value.items()))
    unit = UNITS.get(key)
    return html.escape(f"{value} {unit}" if unit and isinstance(value, int) else _short(value))
