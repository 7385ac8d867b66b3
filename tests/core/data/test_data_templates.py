"""The template library: built-ins as data, user templates, sandboxed rendering, clear errors."""

from __future__ import annotations

import pytest

from ift_desktop.core.data.tasks import TASKS, get_task, guess_mapping, parse_mapping
from ift_desktop.core.data.templates import Template, TemplateLibrary, render, validate_template
from ift_desktop.core.errors import DataError, TemplateError


def test_every_task_has_at_least_three_builtin_phrasings():
    library = TemplateLibrary()
    for task in TASKS:
        builtins = [t for t in library.templates(task) if t.builtin]
        assert len(builtins) >= 3, task
        assert library.default_for(task).task == task
    qa = library.names("qa")
    assert sum(n.startswith("qa-extractive") for n in qa) >= 3
    assert sum(n.startswith("qa-closed") for n in qa) >= 3


def test_builtins_render_with_their_task_fields():
    library = TemplateLibrary()
    values = {
        "document": "D",
        "summary": "S",
        "source": "Hallo",
        "target": "Hello",
        "source_lang": "German",
        "target_lang": "English",
        "text": "T",
        "label": "positive",
        "options": ["negative", "positive"],
        "context": "C",
        "question": "Q?",
        "answer": "A",
        "instruction": "I",
        "input": "",
        "output": "O",
    }
    for t in library.templates():
        prompt, completion = render(t, values)
        assert prompt and "{{" not in prompt and completion, t.name


def test_render_summarize_dialogue():
    t = TemplateLibrary().get("summarize-dialogue")
    assert render(t, {"document": "#P1#: Hi", "summary": "A greeting."}) == (
        "Summarize this dialogue:\n\n#P1#: Hi",
        "A greeting.",
    )


def test_options_and_optional_input():
    library = TemplateLibrary()
    prompt, _ = render(
        library.get("sentiment-options"), {"text": "Fun.", "label": "positive", "options": ["negative", "positive"]}
    )
    assert prompt.endswith("OPTIONS:\n- negative\n- positive")
    with_input, _ = render(library.get("instruction-labelled"), {"instruction": "Add", "input": "1 2", "output": "3"})
    without, _ = render(library.get("instruction-labelled"), {"instruction": "Add", "output": "3"})
    assert with_input == "Instruction: Add\nInput: 1 2\nResponse:"
    assert without == "Instruction: Add\nResponse:"


def test_unknown_field_names_it_and_the_available_ones():
    t = Template("mine", "summarization", "Sum: {{ dialog }}", "{{ summary }}")
    with pytest.raises(TemplateError, match=r"'dialog'.*available fields: document, summary"):
        validate_template(t, ["document", "summary"])
    with pytest.raises(TemplateError, match=r"field 'dialog'.*available fields: document, summary"):
        render(t, {"document": "x", "summary": "y"})


def test_syntax_error_and_sandbox():
    with pytest.raises(TemplateError, match="syntax error"):
        validate_template(Template("bad", "summarization", "{{ document ", "{{ summary }}"), ["document", "summary"])
    evil = Template("evil", "summarization", "{{ document.__class__.__mro__[1].__subclasses__() }}", "{{ summary }}")
    with pytest.raises(TemplateError):
        render(evil, {"document": "x", "summary": "y"})


def test_default_for_closed_book_qa_without_context():
    library = TemplateLibrary()
    assert library.default_for("qa", ["question", "answer"]).name.startswith("qa-closed")
    assert library.default_for("qa", ["context", "question", "answer"]).name.startswith("qa-extractive")
    assert all(t.name.startswith("qa-closed") for t in library.random_pool("qa", ["question", "answer"]))


def test_user_templates_save_list_delete(isolated_home):
    library = TemplateLibrary()
    mine = Template("my-summary", "summarization", "In short:\n{{ document }}", "{{ summary }}", "terse")
    path = library.save_user_template(mine)
    assert path.parent == isolated_home / "templates"
    fresh = TemplateLibrary()
    got = fresh.get("my-summary")
    assert (got.prompt, got.builtin, got.description) == (mine.prompt, False, "terse")
    assert "my-summary" in fresh.names("summarization")
    with pytest.raises(TemplateError, match="built-in"):
        fresh.save_user_template(Template("tldr", "summarization", "x", "y"))
    with pytest.raises(TemplateError, match="cannot be a template name"):
        fresh.save_user_template(Template("../evil", "summarization", "x", "y"))
    fresh.delete_user_template("my-summary")
    with pytest.raises(TemplateError, match="Unknown template 'my-summary'"):
        TemplateLibrary().get("my-summary")


def test_unknown_template_lists_known():
    with pytest.raises(TemplateError, match="Unknown template 'nope'; known templates: random, .*tldr"):
        TemplateLibrary().get("nope")


def test_tasks_and_mapping_guesses():
    with pytest.raises(DataError, match="Unknown task 'poetry'; the known tasks are: summarization, translation"):
        get_task("poetry")
    dialogsum_test = ["fname", "dialogue", "summary1", "topic1", "summary2", "topic2", "summary3", "topic3"]
    assert guess_mapping("summarization", dialogsum_test) == {
        "document": ["dialogue"],
        "summary": ["summary1", "summary2", "summary3"],
    }
    assert guess_mapping("classification", ["sentence", "label"]) == {"text": ["sentence"], "label": ["label"]}
    assert guess_mapping("classification", ["id", "review", "sentiment"]) == {
        "text": ["review"],
        "label": ["sentiment"],
    }
    assert guess_mapping("qa", ["question", "answer"]) == {"question": ["question"], "answer": ["answer"]}
    assert parse_mapping(["summary=s1, s2", "document=dialogue"]) == {"summary": ["s1", "s2"], "document": ["dialogue"]}
    with pytest.raises(DataError, match="FIELD=COLUMN"):
        parse_mapping(["summary"])
