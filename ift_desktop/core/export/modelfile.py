"""The Ollama ``Modelfile`` written beside a GGUF export.

Ollama does not run the Jinja chat template stored in the GGUF; it needs its own Go template. A
general Jinja→Go translator does not exist, so this module *measures* the model's template instead:
it renders a few conversations with the real template and reads off what each role's turn looks like
(``ChatFormat``: the text before and after a system, user and assistant message, the generation
prompt, and a system prompt the template inserts on its own, as SmolLM2's does). That covers the
families whose turns are wrapped the same way wherever they occur — ChatML (SmolLM2, Qwen2),
Zephyr/TinyLlama-style role tags, the plain prompt of a run trained without a template. The Go
template written from it is then rendered here (``render_go_template``, the small part of Go's
template language it uses) and must give exactly the Jinja template's text on single-turn, system and
multi-turn conversations; a template that fails any step (Llama-2's ``[INST] <<SYS>>`` folding, a
template that refuses a system role) is reported as not translated, never written half right.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

Render = Callable[[list[dict], bool], str]  # (messages, add_generation_prompt) -> text

_S, _U, _A, _U2 = "SYSTEM-7f3a", "USER-1c2b", "ANSWER-9d4e", "USER-5e6f"
_CHECKS = [  # (messages, whether Ollama would add the SYSTEM line's message)
    ([{"role": "user", "content": "What is the capital of France?"}], True),
    ([{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Hi there!"}], False),
    (
        [
            {"role": "user", "content": "Name a colour."},
            {"role": "assistant", "content": "Blue."},
            {"role": "user", "content": "Another one,\nplease."},
        ],
        True,
    ),
]


class UntranslatableTemplate(Exception):
    """The chat template has a shape the Go template written here cannot reproduce."""


@dataclass(frozen=True)
class ChatFormat:
    start: str  # text before the first message (e.g. a start token the template writes)
    system_prefix: str
    system_suffix: str
    user_prefix: str
    user_suffix: str
    assistant_prefix: str  # also the generation prompt
    assistant_suffix: str
    default_system: str | None  # a system prompt the template inserts when none is given


def _split(text: str, marker: str) -> tuple[str, str]:
    if text.count(marker) != 1:
        raise UntranslatableTemplate(f"the template does not show a message's text exactly once ({marker})")
    before, after = text.split(marker)
    return before, after


def _strip_end(text: str, end: str, what: str) -> str:
    if not text.endswith(end):
        raise UntranslatableTemplate(f"the {what} differs between turns")
    return text[: len(text) - len(end)] if end else text


def measure_chat_format(render: Render) -> ChatFormat:
    """Read a template's turn structure off its renderings (UntranslatableTemplate if it has none)."""
    system, user, answer, user2 = (
        {"role": "system", "content": _S},
        {"role": "user", "content": _U},
        {"role": "assistant", "content": _A},
        {"role": "user", "content": _U2},
    )
    try:
        prompt_with_generation = render([system, user], True)
        prompt_alone = render([system, user], False)
        one_exchange = render([system, user, answer], False)
        two_turns = render([system, user, answer, user2], True)
        without_system = render([user], True)
    except Exception as exc:  # a template may raise on a role order it does not allow
        raise UntranslatableTemplate(
            f"the template refused a test conversation ({type(exc).__name__}: {exc})"
        ) from None
    if not prompt_with_generation.startswith(prompt_alone):
        raise UntranslatableTemplate("the generation prompt is not simply appended")
    assistant_prefix = prompt_with_generation[len(prompt_alone) :]

    head, rest = _split(one_exchange, _S)
    system_then_user, rest = _split(rest, _U)
    user_then_answer, assistant_suffix = _split(rest, _A)
    user_suffix = _strip_end(user_then_answer, assistant_prefix, "generation prompt")
    if not prompt_alone.endswith(_U + user_suffix):
        raise UntranslatableTemplate("a user turn ends differently when it is the last one")

    _, rest = _split(two_turns, _A)
    answer_then_user, generation = _split(rest, _U2)
    if not answer_then_user.startswith(assistant_suffix):
        raise UntranslatableTemplate("an assistant turn ends differently before a user turn")
    user_prefix = answer_then_user[len(assistant_suffix) :]
    if generation != user_suffix + assistant_prefix:
        raise UntranslatableTemplate("a later user turn ends differently from the first")
    system_suffix = _strip_end(system_then_user, user_prefix, "user turn's opening")

    before_user, _ = _split(without_system, _U)
    start_alone = _strip_end(before_user, user_prefix, "user turn's opening")
    default_system, start = None, ""
    wraps_a_system = start_alone.startswith(head) and start_alone.endswith(system_suffix)
    if start_alone and wraps_a_system and len(start_alone) >= len(head) + len(system_suffix):
        default_system = start_alone[len(head) : len(start_alone) - len(system_suffix)]
        system_prefix = head
    elif head.startswith(start_alone):
        start, system_prefix = start_alone, head[len(start_alone) :]
    else:
        raise UntranslatableTemplate("the conversation starts differently with and without a system message")
    return ChatFormat(
        start,
        system_prefix,
        system_suffix,
        user_prefix,
        user_suffix,
        assistant_prefix,
        assistant_suffix,
        default_system,
    )


# --------------------------------------------------------------------------------- Go template
def _literal(text: str) -> str:
    """Text for a Go template: as is, or as a quoted string action when it holds ``{{`` or quotes."""
    if not text:
        return ""
    if "{{" in text or "}}" in text or '"""' in text:
        return "{{ " + json.dumps(text) + " }}"
    return text


def go_template(fmt: ChatFormat) -> str:
    """Ollama's TEMPLATE for this chat format (Ollama passes the SYSTEM line as the first message)."""

    def turn(role: str, prefix: str, suffix: str) -> str:
        return f'eq .Role "{role}" }}}}{_literal(prefix)}{{{{ .Content }}}}{_literal(suffix)}'

    return (
        _literal(fmt.start)
        + "{{ range .Messages }}{{ if "
        + turn("system", fmt.system_prefix, fmt.system_suffix)
        + "{{ else if "
        + turn("user", fmt.user_prefix, fmt.user_suffix)
        + "{{ else if "
        + turn("assistant", fmt.assistant_prefix, fmt.assistant_suffix)
        + "{{ end }}{{ end }}"
        + _literal(fmt.assistant_prefix)
    )


_ACTION = re.compile(r'(\{\{(?:"(?:[^"\\]|\\.)*"|[^"}]|\}(?!\}))*\}\})', re.S)  # "}}" may sit in a quoted string


def render_go_template(template: str, messages: list[dict]) -> str:
    """Render the subset of Go's text/template that :func:`go_template` writes (range over
    ``.Messages``, ``if``/``else if eq .Role "…"``, ``.Content``, quoted strings), as Ollama would."""
    parts = [p for p in _ACTION.split(template) if p]
    position = 0

    def block(message: dict | None, stop: tuple[str, ...]) -> tuple[str, str]:
        nonlocal position
        out = []
        while position < len(parts):
            part = parts[position]
            position += 1
            if not part.startswith("{{"):
                out.append(part)
                continue
            action = part[2:-2].strip()
            if action in stop or any(action.startswith(s + " ") for s in stop):
                return "".join(out), action
            if action == "range .Messages":
                start = position
                for item in messages:
                    position = start
                    text, _ = block(item, ("end",))
                    out.append(text)
                if not messages:
                    block(None, ("end",))
            elif action.startswith("if "):
                out.append(_conditional(action[3:], message))
            elif action == ".Content":
                out.append(str((message or {}).get("content", "")))
            elif action.startswith('"'):
                out.append(json.loads(action))
            else:
                raise ValueError(f"unsupported template action {{{{ {action} }}}}")
        return "".join(out), ""

    def _conditional(condition: str, message: dict | None) -> str:
        chosen, taken = "", False
        while True:
            role = re.fullmatch(r'eq \.Role "([^"]+)"', condition)
            if role is None:
                raise ValueError(f"unsupported condition {condition}")
            text, ended_by = block(message, ("else if", "end"))
            if not taken and message is not None and message.get("role") == role.group(1):
                chosen, taken = text, True
            if ended_by == "end":
                return chosen
            condition = ended_by[len("else if ") :]

    text, _ = block(None, ())
    return text


def check_translation(render: Render, template: str, fmt: ChatFormat) -> None:
    """The Go template must render each check conversation exactly as the Jinja template does."""
    for messages, with_default_system in _CHECKS:
        expected = render(messages, True)
        ollama_messages = list(messages)
        if with_default_system and fmt.default_system is not None:
            ollama_messages = [{"role": "system", "content": fmt.default_system}] + ollama_messages
        got = render_go_template(template, ollama_messages)
        if got != expected:
            raise UntranslatableTemplate(
                f"the translated template renders {got!r} where the model's gives {expected!r}"
            )


# ---------------------------------------------------------------------------------- Modelfile
@dataclass
class Modelfile:
    text: str
    template: str | None  # the Go template, None when the chat template could not be translated
    stops: list[str]
    system: str | None
    note: str | None  # why the template was not translated


def ollama_name(stem: str) -> str:
    name = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._")
    return name or "my-model"


def ollama_commands(name: str, modelfile_path: str) -> list[str]:
    return [f"ollama create {name} -f {shlex.quote(modelfile_path)}", f"ollama run {name}"]


def build_modelfile(
    *,
    gguf_name: str,
    render: Render,
    stops: list[str],
    system_prompt: str | None,
    model_label: str,
) -> Modelfile:
    """The Modelfile for ``gguf_name`` (a file beside it), with the template measured from ``render``."""
    note = template = None
    system = system_prompt
    try:
        fmt = measure_chat_format(render)
        template = go_template(fmt)
        check_translation(render, template, fmt)
        if system is None:
            system = fmt.default_system
    except UntranslatableTemplate as exc:
        template, note = None, f"The chat template could not be translated to Ollama's template language: {exc}."
    name = ollama_name(gguf_name.rsplit(".", 1)[0])
    lines = [f"# Made by IFT Desktop from {model_label}. Run it with:"]
    lines += [f"#   {command}" for command in ollama_commands(name, "Modelfile")]
    lines.append(f"FROM ./{gguf_name}")
    if template is not None:
        lines.append(f'TEMPLATE """{template}"""')
    else:
        lines.append(f"# {note} Ollama then uses the template stored in the GGUF file if it recognises it.")
    lines += [f"PARAMETER stop {json.dumps(stop)}" for stop in stops]
    if system and template is not None and '"""' in system:
        note = 'The system prompt holds """, which a Modelfile cannot quote; add it in Ollama yourself.'
        lines.append(f"# {note}")
        system = None
    elif system and template is not None:
        lines.append(f'SYSTEM """{system}"""')
    return Modelfile("\n".join(lines) + "\n", template, list(stops), system if template is not None else None, note)
