"""The Ollama template measured from a Jinja chat template renders exactly as the Jinja template does,
and templates it cannot reproduce are flagged, not translated half right."""

from __future__ import annotations

import jinja2
import pytest
from tiny_models import CHATML_TEMPLATE, TINY_CHAT_TEMPLATE

from ift_desktop.core.export.gguf_vocab import PLAIN_TEMPLATE
from ift_desktop.core.export.modelfile import (
    UntranslatableTemplate,
    build_modelfile,
    measure_chat_format,
    render_go_template,
)

SMOLLM2_TEMPLATE = (  # SmolLM2-Instruct's: ChatML with a system prompt of its own when none is given
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
ZEPHYR_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] "
    "+ ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% else %}"
    "{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)
BRACES_TEMPLATE = (
    "{% for message in messages %}{{ '{{' + message['role'] + '}}: ' + message['content'] + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '{{assistant}}: ' }}{% endif %}"
)

CONVERSATIONS = [
    [{"role": "user", "content": "Hello"}],
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hey."},
        {"role": "user", "content": "Bye\nnow"},
    ],  # fmt: skip
]


def _render(template: str):
    def raise_exception(message):
        raise jinja2.TemplateError(message)

    compiled = jinja2.Environment().from_string(template)
    return lambda messages, generation: compiled.render(
        messages=messages,
        add_generation_prompt=generation,
        bos_token="<s>",
        eos_token="</s>",
        raise_exception=raise_exception,
    )


@pytest.mark.parametrize("template", [CHATML_TEMPLATE, SMOLLM2_TEMPLATE, ZEPHYR_TEMPLATE, TINY_CHAT_TEMPLATE,
                                      PLAIN_TEMPLATE, BRACES_TEMPLATE])  # fmt: skip
def test_translation_renders_as_the_jinja_template(template):
    render = _render(template)
    modelfile = build_modelfile(gguf_name="m.gguf", render=render, stops=["</s>"], system_prompt=None, model_label="x")
    assert modelfile.template is not None and modelfile.note is None
    for messages in CONVERSATIONS:
        with_system = messages
        if messages[0]["role"] != "system" and modelfile.system:
            with_system = [{"role": "system", "content": modelfile.system}] + messages
        assert render_go_template(modelfile.template, with_system) == render(messages, True)


def test_smollm2_default_system_prompt_becomes_the_system_line():
    modelfile = build_modelfile(gguf_name="smol-f16.gguf", render=_render(SMOLLM2_TEMPLATE), stops=["<|im_end|>"],
                                system_prompt=None, model_label="run r")  # fmt: skip
    assert modelfile.system == "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    lines = modelfile.text.splitlines()
    assert "FROM ./smol-f16.gguf" in lines and 'PARAMETER stop "<|im_end|>"' in lines
    assert f'SYSTEM """{modelfile.system}"""' in lines
    assert "#   ollama create smol-f16 -f Modelfile" in lines and "#   ollama run smol-f16" in lines
    assert modelfile.template.endswith("{{ end }}{{ end }}<|im_start|>assistant\n")


def test_braces_in_the_template_text_are_quoted_for_go():
    fmt = measure_chat_format(_render(BRACES_TEMPLATE))
    assert fmt.user_prefix == "{{user}}: "
    template = build_modelfile(gguf_name="m.gguf", render=_render(BRACES_TEMPLATE), stops=[], system_prompt=None,
                               model_label="x").template  # fmt: skip
    assert '{{ "{{user}}: " }}' in template


def test_a_template_without_a_system_role_is_flagged_not_translated():
    with pytest.raises(UntranslatableTemplate, match="refused a test conversation"):
        measure_chat_format(_render(MISTRAL_TEMPLATE))
    modelfile = build_modelfile(gguf_name="m.gguf", render=_render(MISTRAL_TEMPLATE), stops=["</s>"],
                                system_prompt=None, model_label="x")  # fmt: skip
    assert modelfile.template is None and "could not be translated" in modelfile.note
    assert "TEMPLATE" not in modelfile.text and 'PARAMETER stop "</s>"' in modelfile.text
