"""Templates cannot hang the app or fill the memory: time and size are bounded per example, and what a
template can cause (huge numbers, deep recursion) is a TemplateError naming the template."""

from __future__ import annotations

import time

import pytest

from ift_desktop.core.data.templates import Template, TemplateLibrary, render
from ift_desktop.core.errors import TemplateError

FIELDS = {"document": "A short dialogue.", "summary": "Short."}

HOSTILE = {
    "nested loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "nested loops printing": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "loops over the data": "{% for a in document * 50 %}{% for b in document * 50 %}{% for c in document * 50 %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "a 400 MB string": "{{ 'x' * 400000000 }}",
    "doubling by ~": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}",
    "doubling by blocks": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set b %}{{ ns.s }}{{ ns.s }}"
    "{% endset %}{% set ns.s = b %}{% endfor %}{{ ns.s|length }}",
    "a huge power": "{{ 2 ** 100000000 }}",
    "padding": "{{ 'x'|center(400000000) }}",
    "a padding method": "{{ 'x'.ljust(400000000) }}",
    "a % width": "{{ '%0400000000d' % 1 }}",
    "a format width": "{{ '{:>400000000}'.format(1) }}",
    "replace between letters": "{{ ('x' * 100000)|replace('', 'y' * 100000) }}",
    "join": "{{ (['x' * 100000] * 100000)|join }}",
    "recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "overflow": "{{ 1e308 * 10 ** 400 }}",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_template_is_stopped_fast_with_its_name(name):
    template = Template(f"t-{name.replace(' ', '-')}", "summarization", HOSTILE[name], "{{ summary }}")
    start = time.monotonic()
    with pytest.raises(TemplateError, match=f"Template 't-{name.replace(' ', '-')}'"):
        render(template, FIELDS)
    assert time.monotonic() - start < 10


def test_the_completion_is_bounded_too():
    template = Template(
        "tail",
        "summarization",
        "{{ document }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    )
    with pytest.raises(TemplateError, match="Template 'tail'.*completion"):
        render(template, FIELDS)


def test_ordinary_templates_render_as_before():
    library = TemplateLibrary()
    for template in library.templates():
        fields = {name: f"<{name}>" for name in template.fields()}
        prompt, completion = render(template, fields)
        assert prompt and completion
    loops = Template(
        "loops",
        "summarization",
        "{% for w in document.split() %}[{{ w|upper }}]{% endfor %} {{ '%5s' % 'a' }}"
        "{{ 'b' ~ 'c' }}{{ range(3)|join(',') }}{{ 'x' * 3 }}",
        "{{ summary }}",
    )
    assert render(loops, {"document": "a b", "summary": "s"}) == ("[A][B]     abc0,1,2xxx", "s")


def test_prepare_with_a_nested_loop_template_exits_2_quickly(tmp_path, monkeypatch, capsys):
    from ift_desktop import cli

    TemplateLibrary().save_user_template(Template("forever", "summarization", HOSTILE["nested loops"], "{{ summary }}"))
    monkeypatch.setattr(cli, "COMMANDS", {"prepare": cli.COMMANDS["prepare"]})
    start = time.monotonic()
    code = cli.main(
        [
            "prepare",
            "--source",
            "sample:dialogue_summaries",
            "--template",
            "forever",
            "--limit",
            "5",
            "--out",
            str(tmp_path / "ds"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Template 'forever'" in err and "unexpected" not in err
    assert time.monotonic() - start < 30
    assert not (tmp_path / "ds").exists()
