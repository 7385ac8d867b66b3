"""The Evaluate page: base vs fine-tuned ROUGE/BLEU with the matching words highlighted."""

from .page import EvaluatePage

__all__ = ["EvaluatePage"]
