"""The tokenizer as GGUF metadata: vocabulary, merges, special tokens and the chat template.

GGUF carries no ``tokenizer.json``; llama.cpp (and transformers' GGUF reader) rebuild the
tokenizer from ``tokenizer.ggml.*`` keys. Written here: byte-level BPE tokenizers (GPT-2 style, as
SmolLM2, Qwen2 and Llama 3 use) as ``tokenizer.ggml.model = gpt2`` with the tokens in id order, their
kinds (normal / control / user-defined / unused padding), the merges, and the name llama.cpp gives
the way the text is split before merging (``tokenizer.ggml.pre``). A tokenizer of another kind
(SentencePiece, WordPiece, bytes as ids like ByT5) is refused with a clear message.

The end-of-turn token (``tokenizer.ggml.eot_token_id``) is the token that closes an assistant turn
in the chat template the run trained with — what llama.cpp and Ollama stop on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..errors import ExportError

# gguf.TokenType values (kept here so this module imports without gguf)
NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5

PLAIN_TEMPLATE = "{% for message in messages %}{{ message['content'] }}{% endfor %}"

# How the text is cut into words before BPE merges, by llama.cpp's name for it.
_LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_SPLIT_NAMES = {_LLAMA3_SPLIT: "llama-bpe", _QWEN2_SPLIT: "qwen2"}


@dataclass
class GgufVocab:
    pre: str
    tokens: list[str]
    token_types: list[int]
    merges: list[str]
    bos_id: int | None
    eos_id: int | None
    unk_id: int | None
    pad_id: int | None
    eot_id: int | None
    add_bos: bool
    chat_template: str
    special_texts: dict[str, str] = field(default_factory=dict)  # role -> token text, for the report

    def write(self, writer) -> None:
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(self.pre)
        writer.add_token_list(self.tokens)
        writer.add_token_types(self.token_types)
        writer.add_token_merges(self.merges)
        for value, add in (
            (self.bos_id, writer.add_bos_token_id),
            (self.eos_id, writer.add_eos_token_id),
            (self.unk_id, writer.add_unk_token_id),
            (self.pad_id, writer.add_pad_token_id),
            (self.eot_id, writer.add_eot_token_id),
        ):
            if value is not None:
                add(int(value))
        writer.add_add_bos_token(self.add_bos)
        writer.add_add_eos_token(False)
        writer.add_chat_template(self.chat_template)


def _not_supported(kind: str) -> ExportError:
    return ExportError(
        f"The run's tokenizer ({kind}) is not byte-level BPE; this GGUF writer describes byte-level BPE "
        "tokenizers (SmolLM2, Qwen2, Llama 3 style) only.",
        hint="Export the merged model (safetensors) instead.",
    )


def _tokenizer_json(tokenizer) -> dict:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise _not_supported(type(tokenizer).__name__)
    return json.loads(backend.to_str())


def check_tokenizer(tokenizer) -> dict:
    """The tokenizer's ``tokenizer.json`` content if GGUF can describe it, else an ExportError."""
    spec = _tokenizer_json(tokenizer)
    model = spec.get("model") or {}
    level = _is_byte_level(spec.get("decoder")) or _is_byte_level(spec.get("pre_tokenizer"))
    if model.get("type") != "BPE" or model.get("byte_fallback") or not level:
        raise _not_supported(f"{type(tokenizer).__name__}, {model.get('type') or 'unknown'} model")
    pre_tokenizer_name(spec)
    return spec


def _is_byte_level(part: dict | None) -> bool:
    return isinstance(part, dict) and part.get("type") == "ByteLevel"


def pre_tokenizer_name(spec: dict) -> str:
    """llama.cpp's name for a byte-level BPE tokenizer's pre-tokenizer (ExportError if it has none)."""
    pre = spec.get("pre_tokenizer")
    if _is_byte_level(pre) and pre.get("use_regex", True):
        return "gpt-2"
    if isinstance(pre, dict) and pre.get("type") == "Sequence":
        steps = pre.get("pretokenizers") or []
        if len(steps) == 2 and _is_byte_level(steps[1]):
            first, level = steps
            if first.get("type") == "Digits" and first.get("individual_digits") and level.get("use_regex", True):
                return "smollm"  # digits one by one, then GPT-2's split (StarCoder, SmolLM)
            pattern = (first.get("pattern") or {}).get("Regex") if first.get("type") == "Split" else None
            if pattern in _SPLIT_NAMES and not level.get("use_regex", True):
                return _SPLIT_NAMES[pattern]
    raise ExportError(
        "The run's tokenizer splits text before merging in a way that has no name in llama.cpp's GGUF format; "
        "a GGUF file would tokenize differently from the app.",
        hint="Export the merged model (safetensors) instead.",
    )


def _merges(model: dict) -> list[str]:
    merges = model.get("merges") or []
    return [m if isinstance(m, str) else " ".join(m) for m in merges]


def _adds_bos(tokenizer) -> bool:
    bos = tokenizer.bos_token_id
    if bos is None:
        return False
    with_special = list(tokenizer("a", add_special_tokens=True)["input_ids"])
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    return bool(with_special) and with_special[0] == bos and len(with_special) > len(plain)


def build_vocab(
    tokenizer,
    *,
    vocab_size: int,
    chat_template: str,
    uses_chat: bool,
    eot_text: str | None,
    pre: str | None = None,
) -> GgufVocab:
    """Describe ``tokenizer`` for a model whose embedding has ``vocab_size`` rows.

    ``pre`` overrides the detected pre-tokenizer name (the built-in model keeps the one of the GGUF
    file it came from). ``uses_chat``: the run wrapped prompts in the chat template, which then
    writes any start token itself, so llama.cpp must not add one.
    """
    spec = check_tokenizer(tokenizer)
    model = spec.get("model") or {}
    pre = pre or pre_tokenizer_name(spec)

    vocab = tokenizer.get_vocab()
    if len(vocab) > vocab_size or max(vocab.values()) >= vocab_size:
        raise ExportError(
            f"The tokenizer has {len(vocab)} tokens but the model only {vocab_size} embeddings; the run's tokenizer "
            "does not belong to its model."
        )
    tokens: list[str | None] = [None] * vocab_size
    for text, index in vocab.items():
        tokens[index] = text
    types = [NORMAL] * vocab_size
    for index, added in getattr(tokenizer, "added_tokens_decoder", {}).items():
        if index < vocab_size:
            types[index] = CONTROL if getattr(added, "special", False) else USER_DEFINED
    for index, text in enumerate(tokens):
        if text is None:  # embedding rows past the tokenizer (padding to a round size)
            tokens[index], types[index] = f"[PAD{index}]", UNUSED

    eot_id = tokenizer.convert_tokens_to_ids(eot_text) if eot_text else None
    if eot_id is None or (eot_id == tokenizer.unk_token_id and eot_text != tokenizer.unk_token):
        eot_id = tokenizer.eos_token_id
    return GgufVocab(
        pre=pre,
        tokens=tokens,  # type: ignore[arg-type]
        token_types=types,
        merges=_merges(model),
        bos_id=tokenizer.bos_token_id,
        eos_id=tokenizer.eos_token_id,
        unk_id=tokenizer.unk_token_id,
        pad_id=tokenizer.pad_token_id,
        eot_id=eot_id,
        add_bos=False if uses_chat else _adds_bos(tokenizer),
        chat_template=chat_template,
        special_texts={
            "eos": tokenizer.eos_token or "",
            "eot": tokenizer.convert_ids_to_tokens(eot_id) if eot_id is not None else "",
        },
    )
