"""The Data page: the wizard that turns a table into an instruction dataset (source → save)."""

from .page import DataPage

__all__ = ["DataPage"]
