"""Why something could not be fetched from the Hugging Face Hub, in words rather than exception class names."""

from __future__ import annotations

OFFLINE = "it is not on this computer yet and the Hub could not be reached (offline?)"


def hub_failure(exc: BaseException) -> str:
    """A short clause for a Hub failure: "the Hub has no such name (...)" instead of "(RepositoryNotFoundError)"."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"LocalEntryNotFoundError", "OfflineModeIsEnabled"}:
        return OFFLINE
    if "GatedRepoError" in names:
        return "it is gated: accept its terms on huggingface.co and log in on this computer first"
    if names & {"RepositoryNotFoundError", "DatasetNotFoundError"}:
        return "the Hub has no such name (check the spelling; a private one needs you to log in)"
    if "RevisionNotFoundError" in names:
        return "that revision (branch, tag or commit) does not exist"
    if "EntryNotFoundError" in names:
        return "a file it needs is missing from it"
    if names & {"ConnectionError", "Timeout", "ConnectTimeout", "ReadTimeout"}:
        return "the Hub could not be reached (check the network)"
    first = str(exc).splitlines()[0].strip() if str(exc) else ""
    return first or "the Hub gave no reason"
