"""The workspace: every dataset, run and evaluation the user made, kept across restarts."""

from .store import Workspace, WorkspaceItem, unique_name

__all__ = ["Workspace", "WorkspaceItem", "unique_name"]
