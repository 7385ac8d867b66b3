"""The Playground page: zero-, one- and few-shot prompting before paying for fine-tuning."""

from .page import PlaygroundPage

__all__ = ["PlaygroundPage"]
