"""The Metric lab: try ROUGE and BLEU on texts of your own, with the lessons' classic pitfalls."""

from .page import MetricLabPage

__all__ = ["MetricLabPage"]
