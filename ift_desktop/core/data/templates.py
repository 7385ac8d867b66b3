"""Prompt templates: the built-in FLAN-style library, the user's own, and sandboxed rendering.

A :class:`Template` is two pieces of Jinja text over a task's fields (``{{ document }}``,
``{{ summary }}``, ...), one for the prompt and one for the completion. Built-ins live in
``resources/templates/<task>.yaml`` (see ``core/paths.resources_dir``); a user's templates are saved one per file in
``<workspace>/templates/<name>.yaml``. Rendering runs in a Jinja sandbox with :class:`StrictUndefined`,
so a field the data does not have is an error that names it, and with a time and size budget per
example (``template_limits.py``), so a template cannot hang the app or fill the memory.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import jinja2
import yaml
from jinja2 import meta

from ..atomic import atomic_write_text
from ..errors import TemplateError
from ..paths import resources_dir, workspace_root
from .tasks import TASKS, get_task
from .template_limits import BoundedSandbox, TemplateLimitExceeded, render_within_budget

RANDOM = "random"
"""Template name meaning: draw one of the task's built-in phrasings at random (seeded) per example."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class Template:
    name: str
    task: str
    prompt: str
    completion: str
    description: str = ""
    builtin: bool = True

    def fields(self) -> set[str]:
        """The variables the template reads (its fields, parameters and derived values)."""
        return template_variables(self)


_ENV = BoundedSandbox(
    undefined=jinja2.StrictUndefined,
    trim_blocks=False,
    lstrip_blocks=False,
    keep_trailing_newline=False,
    autoescape=False,
)
_COMPILED: dict[tuple[str, str], jinja2.Template] = {}


def _compile(t: Template, which: str) -> jinja2.Template:
    source = getattr(t, which)
    key = (which, source)
    if key not in _COMPILED:
        try:
            _COMPILED[key] = _ENV.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"Template '{t.name}' has a syntax error in its {which} (line {exc.lineno}): {exc.message}; "
                "fix the {{ field }} / {% ... %} markup."
            ) from None
    return _COMPILED[key]


def template_variables(t: Template) -> set[str]:
    names: set[str] = set()
    for which in ("prompt", "completion"):
        _compile(t, which)
        try:
            names |= meta.find_undeclared_variables(_ENV.parse(getattr(t, which)))
        except jinja2.TemplateSyntaxError as exc:  # pragma: no cover - _compile caught it first
            raise TemplateError(f"Template '{t.name}' has a syntax error: {exc.message}.") from None
    return names


def validate_template(t: Template, fields) -> None:
    """Raise :class:`TemplateError` if ``t`` uses a variable that is not in ``fields``.

    Optional fields of the template's task (a QA context, an instruction's input) may be
    missing when the template only reads them behind ``{% if x is defined %}``; rendering
    catches an unguarded use.
    """
    available = set(fields)
    optional = set(TASKS[t.task].optional_fields) if t.task in TASKS else set()
    unknown = sorted(template_variables(t) - available - optional)
    if unknown:
        names = ", ".join(f"'{n}'" for n in unknown)
        raise TemplateError(
            f"Template '{t.name}' uses {names}, which the data does not provide; "
            f"available fields: {', '.join(sorted(available)) or 'none'}. "
            "Map a column to it (--map FIELD=COLUMN) or pick another template."
        )


def render(t: Template, fields: dict) -> tuple[str, str]:
    """Render ``t`` with ``fields``; returns ``(prompt, completion)``, surrounding whitespace stripped."""
    out = []
    for which in ("prompt", "completion"):
        try:
            out.append(render_within_budget(_compile(t, which), fields).strip())
        except jinja2.UndefinedError as exc:
            missing = re.search(r"'([^']+)' is undefined", str(exc))
            what = f"field '{missing.group(1)}'" if missing else str(exc)
            raise TemplateError(
                f"Template '{t.name}' uses {what}, which the data does not provide; "
                f"available fields: {', '.join(sorted(fields)) or 'none'}. "
                "Map a column to it (--map FIELD=COLUMN) or pick another template."
            ) from None
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateError(f"Template '{t.name}' tried something unsafe: {exc}.") from None
        except TemplateLimitExceeded as exc:
            raise TemplateError(
                f"Template '{t.name}' {exc} in its {which}, so it was stopped; simplify the template."
            ) from None
        except (OverflowError, RecursionError, MemoryError) as exc:
            what = {
                OverflowError: "a number too large",
                RecursionError: "a recursion too deep",
                MemoryError: "more memory than there is",
            }[type(exc)]
            raise TemplateError(
                f"Template '{t.name}' needed {what} to render its {which}, so it was stopped; simplify the template."
            ) from None
        except (TypeError, ValueError, jinja2.TemplateError) as exc:
            raise TemplateError(f"Template '{t.name}' could not be rendered: {exc}.") from None
    return out[0], out[1]


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"Cannot read the template file {path}: {exc}".splitlines()[0]) from None


def _template_from(entry: object, *, task: str | None, builtin: bool, where: Path) -> Template:
    if not isinstance(entry, dict):
        raise TemplateError(f"{where} has an entry that is not a mapping of name/prompt/completion.")
    missing = [key for key in ("name", "prompt", "completion") if not entry.get(key)]
    if not (task or entry.get("task")):
        missing.append("task")
    if missing:
        raise TemplateError(
            f"A template in {where} lacks {', '.join(missing)}; each needs name, task, prompt, completion."
        )
    t = Template(
        name=str(entry["name"]),
        task=str(entry.get("task") or task),
        prompt=str(entry["prompt"]),
        completion=str(entry["completion"]),
        description=str(entry.get("description") or ""),
        builtin=builtin,
    )
    get_task(t.task)
    return t


class TemplateLibrary:
    """The built-in templates plus the user's own (saved in the workspace's ``templates/`` folder)."""

    def __init__(self, user_dir: Path | None = None, builtin_dir: Path | None = None):
        self.builtin_dir = Path(builtin_dir) if builtin_dir else resources_dir() / "templates"
        self._user_dir = Path(user_dir) if user_dir else None
        self._builtin: list[Template] = []
        self._defaults: dict[str, str] = {}
        for path in sorted(self.builtin_dir.glob("*.yaml")):
            data = _read_yaml(path) or {}
            task = data.get("task") if isinstance(data, dict) else None
            entries = data.get("templates", []) if isinstance(data, dict) else []
            for entry in entries:
                self._builtin.append(_template_from(entry, task=task, builtin=True, where=path))
            if task and data.get("default"):
                self._defaults[task] = str(data["default"])

    @property
    def user_dir(self) -> Path:
        return self._user_dir if self._user_dir is not None else workspace_root() / "templates"

    def _user_templates(self) -> list[Template]:
        found = []
        if self.user_dir.is_dir():
            for path in sorted(self.user_dir.glob("*.yaml")):
                try:
                    found.append(_template_from(_read_yaml(path), task=None, builtin=False, where=path))
                except TemplateError:
                    continue  # a broken user file must not hide the rest of the library
        return found

    def templates(self, task: str | None = None) -> list[Template]:
        everything = self._builtin + self._user_templates()
        return [t for t in everything if task is None or t.task == task]

    def names(self, task: str | None = None) -> list[str]:
        return [t.name for t in self.templates(task)]

    def get(self, name: str) -> Template:
        for t in self.templates():
            if t.name == name:
                return t
        known = ", ".join(self.names())
        raise TemplateError(f"Unknown template '{name}'; known templates: {RANDOM}, {known}.")

    @staticmethod
    def usable(t: Template, fields) -> bool:
        """Whether ``t`` renders with ``fields``: every variable present, optional ones only guarded."""
        try:
            validate_template(t, fields)
        except TemplateError:
            return False
        optional = set(TASKS[t.task].optional_fields) if t.task in TASKS else set()
        unguarded = (t.fields() & optional) - set(fields)
        return not unguarded or all(f"{name} is defined" in t.prompt + t.completion for name in unguarded)

    def default_for(self, task: str, fields=None) -> Template:
        """The task's default template; with ``fields``, the first built-in usable with them."""
        get_task(task)
        default = self._defaults.get(task)
        candidates = sorted((t for t in self._builtin if t.task == task), key=lambda t: t.name != default)
        if not candidates:
            raise TemplateError(f"No built-in template for task '{task}'.")
        if fields is not None:
            for t in candidates:
                if self.usable(t, fields):
                    return t
        return candidates[0]

    def random_pool(self, task: str, fields) -> list[Template]:
        """The built-ins of ``task`` usable with ``fields`` (what the ``random`` template draws from)."""
        return [t for t in self._builtin if t.task == task and self.usable(t, fields)]

    def save_user_template(self, t: Template) -> Path:
        if not _NAME.match(t.name) or t.name == RANDOM:
            raise TemplateError(
                f"'{t.name}' cannot be a template name; use letters, digits, '-', '_' or '.' (not '{RANDOM}')."
            )
        if any(b.name == t.name for b in self._builtin):
            raise TemplateError(f"'{t.name}' is a built-in template; save yours under another name.")
        get_task(t.task)
        saved = Template(t.name, t.task, t.prompt, t.completion, t.description, builtin=False)
        template_variables(saved)  # refuse a template with a syntax error
        data = {k: v for k, v in asdict(saved).items() if k != "builtin"}
        return atomic_write_text(
            self.user_dir / f"{t.name}.yaml", yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        )

    def delete_user_template(self, name: str) -> None:
        if any(b.name == name for b in self._builtin):
            raise TemplateError(f"'{name}' is a built-in template and cannot be deleted.")
        path = self.user_dir / f"{name}.yaml"
        if not path.exists():
            raise TemplateError(f"No user template named '{name}' in {self.user_dir}.")
        path.unlink()
