"""Which prepared dataset a page preselects: the one the user saved last, unless they picked another.

Pages read the workspace's own record of datasets (newest first), not each other's settings.
"""

from __future__ import annotations


class DatasetChoice:
    """Remembers which datasets a page has already listed, so a newly saved one is preselected once."""

    def __init__(self) -> None:
        self._known: set[str] | None = None  # None until the page has listed datasets once

    def choose(self, newest_first: list[str], current: str | None) -> str | None:
        """The dataset to select among ``newest_first`` (paths, newest first) when ``current`` is selected now:
        a dataset saved since the last listing wins; else the current one if it still exists; else the newest."""
        first_listing = self._known is None
        new = [path for path in newest_first if not first_listing and path not in self._known]
        self._known = set(newest_first)
        if new:
            return new[0]
        if current in newest_first:
            return current
        return newest_first[0] if newest_first else None
