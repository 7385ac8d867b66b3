"""The Train page: pick a model, a dataset and a method, start a run and watch it live."""

from .page import TrainPage

__all__ = ["TrainPage"]
