"""What a training setting says about itself: the one source of the `train` flags and the Train page's form.

A :class:`~.config.TrainConfig` field is declared with :func:`setting`: its help text (the flag's help
and the form's tooltip), its label (how the user sees it: form rows, error messages), whether it sits
under the form's "Advanced" fold, its choices, what an empty value means, and its command-line flag
(``--`` and the name with dashes unless told otherwise; ``flag=None`` keeps it off the command line).
``commands/train.py`` builds the flags and ``ui/pages/train/hyperparams.py`` the form from
:func:`settings_of`, so a new field with its metadata gets both, and nothing else has to be listed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import MISSING, dataclass
from typing import Any

_DEFAULT_FLAG = object()  # "--" + the name with dashes


def setting(
    help: str,
    default=MISSING,
    factory=MISSING,
    *,
    label: str | None = None,
    advanced: bool = True,
    choices: tuple | None = None,
    open_choices: bool = False,
    empty: str = "auto",
    flag: str | None = _DEFAULT_FLAG,  # type: ignore[assignment]
    metavar: str | None = None,
    flag_help: str | tuple[str, str] | None = None,
    cli_group: str | None = None,
    in_form: bool = True,
):
    """A dataclass field carrying the setting's metadata (see the module docstring).

    ``choices``: the values it takes (a choice list in the form; ``--flag {a,b}``), or with
    ``open_choices`` the usual ones (other values are accepted: ``--device cuda:1``). ``empty``: what
    leaving it empty means (``None``), shown by the form. ``flag_help``: the flag's own help instead of
    ``help`` (a pair for the two flags of an optional yes/no). ``cli_group``: flags of one group
    exclude each other. ``in_form=False``: the page has its own editor for it."""
    metadata = {
        "help": help,
        "label": label,
        "advanced": advanced,
        "choices": tuple(choices) if choices else None,
        "open_choices": open_choices,
        "empty": empty,
        "flag": flag,
        "metavar": metavar,
        "flag_help": flag_help,
        "cli_group": cli_group,
        "in_form": in_form,
    }
    if factory is not MISSING:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class SettingInfo:
    """One setting as the CLI and the form see it."""

    name: str
    label: str
    help: str
    advanced: bool
    kind: Any  # the value's type without ``None``: int, float, str, bool, list[str], ...
    optional: bool  # ``None`` (empty) is a value
    default: Any  # the dataclass default (a fresh value for a factory)
    choices: tuple | None
    open_choices: bool
    empty: str
    flag: str | None
    metavar: str | None
    flag_help: str | tuple[str, str] | None
    cli_group: str | None
    in_form: bool

    @property
    def is_list(self) -> bool:
        return typing.get_origin(self.kind) in (list, tuple) or self.kind in (list, tuple)


def _without_none(hint: Any) -> tuple[Any, bool]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


def _info(item: dataclasses.Field, hint: Any) -> SettingInfo:
    meta = item.metadata
    kind, optional = _without_none(hint)
    if item.default_factory is not MISSING:  # type: ignore[misc]
        default = item.default_factory()  # type: ignore[misc]
    else:
        default = item.default
    flag = meta.get("flag", _DEFAULT_FLAG)
    return SettingInfo(
        name=item.name,
        label=meta.get("label") or item.name.replace("_", " ").capitalize(),
        help=str(meta.get("help", "")),
        advanced=bool(meta.get("advanced", True)),
        kind=kind,
        optional=optional,
        default=default,
        choices=meta.get("choices"),
        open_choices=bool(meta.get("open_choices", False)),
        empty=meta.get("empty") or "auto",
        flag="--" + item.name.replace("_", "-") if flag is _DEFAULT_FLAG else flag,
        metavar=meta.get("metavar"),
        flag_help=meta.get("flag_help"),
        cli_group=meta.get("cli_group"),
        in_form=bool(meta.get("in_form", True)),
    )


def settings_of(config_cls) -> list[SettingInfo]:
    """The settings of a config dataclass, in field order."""
    hints = typing.get_type_hints(config_cls)
    return [_info(item, hints.get(item.name, str)) for item in dataclasses.fields(config_cls) if item.init]


def setting_info(config_cls, name: str) -> SettingInfo:
    for info in settings_of(config_cls):
        if info.name == name:
            return info
    raise KeyError(name)
