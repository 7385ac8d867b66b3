"""The Runs page: every run in the workspace, compared side by side, exported."""

from .page import RunsPage

__all__ = ["RunsPage"]
