"""Limits that keep a prompt template from hanging the app or filling the memory.

The Jinja sandbox already blocks every escape to Python; it does not bound work. A template is
user-written text, so :class:`BoundedSandbox` adds, per rendered text:

- a **time budget** (``MAX_RENDER_SECONDS``), checked at every loop iteration (each ``{% for %}``
  iterates through a guard), every call, attribute or item lookup, every filter and every chunk of
  output: nested ``range(100000)`` loops stop within the budget instead of running for hours;
- a **size budget** (``MAX_RENDERED_CHARS``), checked *before* anything large is built: string and list
  repetition (``*``), ``+``, ``~`` and ``%`` formatting, ``**`` on numbers, padding widths (``center``,
  ``indent``, ``ljust``, format widths), ``replace`` and ``join``, every printed value and the output so far.

A run past a limit raises :class:`TemplateLimitExceeded`; ``templates.render`` turns it (and the
``OverflowError`` / ``RecursionError`` / ``MemoryError`` a template can cause) into a ``TemplateError``
that names the template. A thread cannot be killed from outside, so the checks run inside the render.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_RENDER_SECONDS = 2.0
MAX_RENDERED_CHARS = 1_000_000
_LOOP_GUARD = "__ift_loop_guard"
_VALUE_GUARD = "__ift_value_guard"
_CONCAT_GUARD = "__ift_concat_guard"
_PADDING = {"center", "ljust", "rjust", "zfill", "expandtabs", "indent", "wordwrap"}
_NUMBER = re.compile(r"\d+")
_budget = threading.local()


class TemplateLimitExceeded(Exception):
    """A template went past the time or size budget of one rendered text (message: what it did)."""


def _check_time() -> None:
    deadline = getattr(_budget, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateLimitExceeded(f"ran longer than {MAX_RENDER_SECONDS:g} s for one example")


def _check_size(size: int, what: str = "a text") -> None:
    if size > MAX_RENDERED_CHARS:
        raise TemplateLimitExceeded(f"would build {what} of {size:,} characters (the limit is {MAX_RENDERED_CHARS:,})")


def _length(value: Any) -> int:
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(len(item) if isinstance(item, (str, bytes)) else 1 for item in value)
    return 0


def _check_format_widths(fmt: str) -> None:
    for number in _NUMBER.findall(fmt):
        if len(number) > 7 or int(number) > MAX_RENDERED_CHARS:
            raise TemplateLimitExceeded(
                f"asks for a width of {int(number):,} characters (the limit is {MAX_RENDERED_CHARS:,})"
            )


def _check_arguments(name: str, args: tuple, kwargs: dict) -> None:
    """Refuse, before calling, what would build more than the size budget."""
    values = (*args, *kwargs.values())
    for value in values:
        _check_size(_length(value), "an argument")
        if isinstance(value, (list, tuple)):
            _check_size(len(value), "a list")
    if name in _PADDING:
        for value in values:
            if isinstance(value, int) and not isinstance(value, bool):
                _check_size(abs(value), "padding")
        if name == "indent" and args and isinstance(args[0], str):
            lines = args[0].count("\n") + 1
            width = args[1] if len(args) > 1 else kwargs.get("width", 4)
            _check_size(lines * (len(width) if isinstance(width, str) else abs(int(width or 0))), "an indented text")
    if name == "replace" and len(args) >= 3 and isinstance(args[0], str) and args[1] == "" and isinstance(args[2], str):
        _check_size((len(args[0]) + 1) * max(1, len(args[2])), "a replaced text")
    if name == "join" and args and isinstance(args[0], (list, tuple)):
        _check_size(_length(args[0]), "a joined text")
    if name in ("format", "format_map") or name == "format_filter":
        for value in values:
            if isinstance(value, str):
                _check_format_widths(value)


def _loop_guard(iterable):
    """What every ``{% for %}`` iterates through: the time budget is checked at each item."""
    for item in iterable:
        _check_time()
        yield item


def _value_guard(value):
    """What every printed ``{{ value }}`` passes through: its text must fit the size budget."""
    _check_time()
    if isinstance(value, (str, list, tuple)):
        _check_size(_length(value), "a printed value")
    return value


def _concat_guard(*parts):
    """``a ~ b``: the joined text must fit the size budget."""
    _check_time()
    texts = [str(part) for part in parts]
    _check_size(sum(len(t) for t in texts), "a joined text")
    return "".join(texts)


def _guard_filter(name: str, function):
    @functools.wraps(function)
    def guarded(*args, **kwargs):
        _check_time()
        plain = [
            a for a in args if not isinstance(a, (jinja2.runtime.Context, jinja2.nodes.EvalContext, jinja2.Environment))
        ]
        _check_arguments("format_filter" if name == "format" else name, tuple(plain), kwargs)
        result = function(*args, **kwargs)
        if isinstance(result, str):
            _check_size(len(result))
        return result

    return guarded


class BoundedSandbox(SandboxedEnvironment):
    """The Jinja sandbox plus a time and size budget per render (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options):
        super().__init__(**options)
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}
        self.globals.update({_LOOP_GUARD: _loop_guard, _VALUE_GUARD: _value_guard, _CONCAT_GUARD: _concat_guard})

    # --- the code every template compiles to goes through the guards --------------------------
    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        if isinstance(source, str):
            source = self._parse(source, name, filename)
        _insert_guards(source)
        return super().compile(source, name, filename, raw, defer_init)

    # --- the sandbox's own hooks, now with the budget --------------------------------------------
    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - the sandbox's signature
        _check_time()
        _check_arguments(getattr(__obj, "__name__", ""), args, kwargs)
        bound = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format in a checker of its own
        if getattr(bound, "__name__", "") in ("format", "format_map") and isinstance(
            getattr(bound, "__self__", None), str
        ):
            _check_format_widths(bound.__self__)
        return SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)

    def getattr(self, obj, attribute):
        _check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        _check_time()
        return super().getitem(obj, argument)

    def call_binop(self, context, operator, left, right):
        _check_time()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                    _check_size(len(seq) * max(times, 0), "a repeated text")
        elif operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            _check_size(len(left) + len(right), "a text")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            if right > 0 and left.bit_length() * right > 8 * MAX_RENDERED_CHARS:
                raise TemplateLimitExceeded(f"computes a number with about {left.bit_length() * right:,} bits")
        elif operator == "%" and isinstance(left, str):
            _check_format_widths(left)
        return super().call_binop(context, operator, left, right)


def _guard_call(name: str, args: list, lineno: int) -> nodes.Call:
    node = nodes.Call(nodes.Name(name, "load"), args, [], None, None)
    node.set_lineno(lineno)
    return node


class _GuardInserter(NodeTransformer):
    """Route every loop, printed value and ``~`` through the budget checks (in the parsed template)."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = _guard_call(_LOOP_GUARD, [node.iter], node.lineno)
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Output:
        self.generic_visit(node)
        node.nodes = [
            n if isinstance(n, nodes.TemplateData) else _guard_call(_VALUE_GUARD, [n], n.lineno) for n in node.nodes
        ]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        self.generic_visit(node)
        return _guard_call(_CONCAT_GUARD, list(node.nodes), node.lineno)


def _insert_guards(tree: nodes.Template) -> None:
    _GuardInserter().visit(tree)


def render_within_budget(template: jinja2.Template, fields: dict) -> str:
    """Render ``template`` under the time and size budget; raises :class:`TemplateLimitExceeded`."""
    previous = getattr(_budget, "deadline", None)
    _budget.deadline = time.monotonic() + MAX_RENDER_SECONDS
    try:
        parts, size = [], 0
        for chunk in template.generate(**fields):
            size += len(chunk)
            _check_size(size, "an example")
            _check_time()
            parts.append(chunk)
        return "".join(parts)
    finally:
        _budget.deadline = previous
