"""Expected failures, worded for the person using the app.

Every error a user can cause (a missing file, a wrong column, a bad setting) is raised as a
:class:`UserError` subclass whose message says *what* went wrong, *where*, and *what to do next*.
The CLI prints ``str(error)`` on one line and exits with status 2; the UI shows it inline.
Anything else is a bug and goes to the error dialog with its traceback folded.
"""

from __future__ import annotations


class UserError(Exception):
    """An expected failure with a message a non-programmer understands."""

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message.strip()
        self.hint = hint.strip() if hint else None
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text} {' '.join(self.hint.split())}"
        return text


class DataError(UserError):
    """A dataset could not be read, mapped, templated or split."""


class TemplateError(DataError):
    """A prompt template is malformed or names a field the data does not have."""


class ModelError(UserError):
    """A model could not be found, loaded or saved."""


class TrainingError(UserError):
    """Training cannot start or had to stop (bad settings, NaN loss, out of memory)."""


class SettingError(TrainingError):
    """A training setting has a value it cannot take. The message names the setting by its ``label``
    (as the Train page shows it); ``setting`` is its field name. :meth:`named` words it with another
    name (the CLI adds the flag)."""

    def __init__(self, setting: str, label: str, problem: str, *, hint: str | None = None):
        self.setting, self.label, self.problem = setting, label, problem
        super().__init__(f"{label} {problem}", hint=hint)

    def named(self, name: str) -> SettingError:
        return SettingError(self.setting, name, self.problem, hint=self.hint)


class TrainingOutOfMemory(TrainingError):
    """The device ran out of memory during training (the memory was freed).

    ``retry_changes`` are the settings to change for a run that needs less memory per step (e.g.
    ``{"batch_size": 4, "grad_accum": 4}``; empty when no setting can save more) and ``retry_config``
    the whole config with them, when the config is at hand (``None`` for a run seen from its files)."""

    def __init__(self, message: str, *, hint: str | None = None, retry_changes: dict | None = None, retry_config=None):
        super().__init__(message, hint=hint)
        self.retry_changes = dict(retry_changes or {})
        self.retry_config = retry_config


class EvaluationError(UserError):
    """Scoring or generation inputs are unusable."""


class Cancelled(Exception):
    """Raised inside long work when the user asked to cancel it. Not an error to show."""


class ExportError(UserError):
    """A run cannot be exported in the asked format, or the written file failed its check."""
