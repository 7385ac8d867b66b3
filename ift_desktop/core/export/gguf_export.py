"""Export a run as one GGUF file for llama.cpp / LM Studio, with an Ollama Modelfile and a report.

``export_gguf(run_dir, out_path, quant=...)``:

1. refuse a model GGUF cannot describe (``check_gguf_support``) before loading anything;
2. load the run and merge its adapter (``load_merged_model``, as the merged export does);
3. answer the probe prompts with the merged model (the reference);
4. write the GGUF under a temporary name beside the target, tokenizer and chat template included;
5. read it back and compare (``round_trip``); a float16 file that answers differently, or metadata
   that lost the chat template or the end-of-turn token, is an error and the file is removed;
6. only then rename it to the target, and write ``Modelfile`` and ``<name>.export.json`` beside it.

Nothing half-written ever carries the target name.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write_json, atomic_write_text
from ..errors import ExportError
from ..progress import TaskState
from ..provenance import library_versions, now_iso
from .gguf_vocab import PLAIN_TEMPLATE, GgufVocab, build_vocab, check_tokenizer
from .gguf_writer import QUANTS, write_gguf
from .modelfile import (
    Modelfile,
    UntranslatableTemplate,
    build_modelfile,
    measure_chat_format,
    ollama_commands,
    ollama_name,
)
from .roundtrip import DEFAULT_PROMPTS, Intended, RoundTripResult, answer_probes, first_difference, round_trip
from .support import GgufSupport, check_gguf_support

REPORT_SCHEMA_VERSION = 1


@dataclass
class GgufExport:
    path: Path
    quant: str
    size_bytes: int
    modelfile: Modelfile
    modelfile_path: Path
    report_path: Path
    round_trip: RoundTripResult
    ollama_name: str

    @property
    def ollama_commands(self) -> list[str]:
        """The two commands, run in the export folder (the Modelfile names the GGUF file relatively)."""
        return ollama_commands(self.ollama_name, self.modelfile_path.name)


def check_target(run_dir: Path, out_path: str | Path) -> Path:
    out = Path(out_path).expanduser()
    if out.suffix.lower() != ".gguf":
        raise ExportError(
            f"{out} does not end in .gguf; give the GGUF file's name, e.g. {out.with_suffix('.gguf').name}."
        )
    if out.is_dir():
        raise ExportError(f"{out} is a folder; give a file name ending in .gguf.")
    if run_dir.resolve() == out.parent.resolve() or run_dir.resolve() in out.resolve().parents:
        raise ExportError("Choose an export folder outside the run folder.")
    return out


def check_gguf_export(run_dir: str | Path) -> None:
    """Everything that can refuse a run before the long work: its architecture and its tokenizer."""
    from ..models import ModelSpec, load_tokenizer

    check_gguf_support(run_dir)
    check_tokenizer(load_tokenizer(ModelSpec.parse(str(run_dir))))


def _probe_prompts(record: dict) -> list[str]:
    """The run's probe prompts; else the first prompts of its validation data; else general ones."""
    config = record.get("config") or {}
    prompts = [str(p) for p in config.get("probe_prompts") or [] if str(p).strip()]
    if prompts:
        return prompts
    data_dir = (record.get("data") or {}).get("dir")
    if data_dir:
        from ..data.dataset_files import read_split

        for split in ("validation", "test"):
            try:
                rows = read_split(data_dir, split)
            except Exception:  # noqa: BLE001 - the data may have moved; fall back to general prompts
                continue
            prompts = [str(r["prompt"]) for r in rows[:3] if r.get("prompt")]
            if prompts:
                return prompts
    return list(DEFAULT_PROMPTS)


def _end_of_turn(render, tokenizer) -> str:
    """The special token that closes an assistant turn in the template (else the eos token)."""
    eos = tokenizer.eos_token or ""
    try:
        closing = measure_chat_format(render).assistant_suffix
    except UntranslatableTemplate:
        return eos
    specials = sorted((t for t in tokenizer.get_added_vocab() if t), key=len, reverse=True)
    return next((t for t in specials if closing.startswith(t)), eos)


def _builtin_pre(record: dict) -> str | None:
    """The built-in model keeps the pre-tokenizer name of the GGUF file it came from."""
    if (record.get("model") or {}).get("source") != "builtin":
        return None
    import gguf

    from ..models.builtin import builtin_gguf_path

    field = gguf.GGUFReader(str(builtin_gguf_path())).fields.get("tokenizer.ggml.pre")
    return field.contents() if field is not None else None


def export_gguf(
    run_dir: str | Path, out_path: str | Path, *, quant: str = "f16", state: TaskState | None = None
) -> GgufExport:
    """Write the run as ``out_path`` (.gguf) plus ``Modelfile`` and ``<name>.export.json`` beside it."""
    import torch

    from ..workspace.runs import load_merged_model

    started = time.monotonic()
    run_dir = Path(run_dir)
    state = state or TaskState()
    out, support, record = _check_request(run_dir, out_path, quant)
    max_new_tokens = int((record.get("config") or {}).get("probe_max_new_tokens") or 48)

    model, tokenizer = load_merged_model(run_dir, dtype=torch.float32, device="cpu", state=state.span(0.0, 0.15))
    model.eval()
    vocab, intended = _file_tokenizer(run_dir, record, model, tokenizer)
    prompts = _probe_prompts(record)
    state.report(0.15, "Answering the probe prompts with the merged model…")
    reference = answer_probes(model, tokenizer, prompts, uses_chat=intended.uses_chat, max_new_tokens=max_new_tokens)
    merged_s = time.monotonic() - started
    state.check_cancelled()

    size, write_s, result = _write_checked_file(
        model,
        tokenizer,
        vocab,
        intended,
        reference,
        support,
        run_dir=run_dir,
        out=out,
        quant=quant,
        max_new_tokens=max_new_tokens,
        state=state,
    )
    del model  # the kept file holds the weights now; the Modelfile and the report need only the tokenizer
    modelfile = build_modelfile(
        gguf_name=out.name,
        render=_renderer(tokenizer, intended.chat_template),
        stops=_stops(intended),
        system_prompt=None,
        model_label=f"run {run_dir.name}",
    )
    modelfile_path = atomic_write_text(out.parent / "Modelfile", modelfile.text)
    export = GgufExport(
        out,
        quant,
        size,
        modelfile,
        modelfile_path,
        out.with_name(f"{out.stem}.export.json"),
        result,
        ollama_name(out.stem),
    )
    timings = {
        "merge_and_reference_s": round(merged_s, 2),
        "write_s": round(write_s, 2),
        "round_trip_s": round(result.seconds, 2),
        "total_s": round(time.monotonic() - started, 2),
    }
    atomic_write_json(export.report_path, _report(export, run_dir, support, vocab, intended, timings))
    state.report(1.0, "Exported and checked")
    return export


def _check_request(run_dir: Path, out_path: str | Path, quant: str) -> tuple[Path, GgufSupport, dict]:
    """Refuse a quantization, target or model the export cannot take before loading anything; then read the run."""
    from ..models.spec import read_run_record

    if quant not in QUANTS:
        raise ExportError(f"Unknown GGUF quantization '{quant}'; choose one of: {', '.join(QUANTS)}.")
    out = check_target(run_dir, out_path)
    check_gguf_export(run_dir)
    support = check_gguf_support(run_dir)
    return out, support, read_run_record(run_dir)


def _renderer(tokenizer, template: str):
    """``render(messages, add_generation_prompt)`` with ``template`` (the one the run's prompts were written in)."""
    return functools.partial(_render_chat, tokenizer, template)


def _render_chat(tokenizer, template: str, messages, add_generation_prompt) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt, chat_template=template
    )


def _file_tokenizer(run_dir: Path, record: dict, model, tokenizer) -> tuple[GgufVocab, Intended]:
    """The vocabulary the file carries and what its metadata must say: the run's chat template (the plain one
    when it trained without), the end-of-turn and end-of-text tokens."""
    uses_chat = bool(record.get("chat_template"))
    if uses_chat and not tokenizer.chat_template:
        raise ExportError(
            f"Run {run_dir.name} trained with a chat template, but its tokenizer has none saved; "
            "the run folder is incomplete."
        )
    template = tokenizer.chat_template if uses_chat else PLAIN_TEMPLATE
    eot = _end_of_turn(_renderer(tokenizer, template), tokenizer) if uses_chat else (tokenizer.eos_token or "")
    vocab = build_vocab(
        tokenizer,
        vocab_size=int(model.get_input_embeddings().weight.shape[0]),
        chat_template=template,
        uses_chat=uses_chat,
        eot_text=eot,
        pre=_builtin_pre(record),
    )
    intended = Intended(
        chat_template=template,
        eot_text=vocab.special_texts["eot"],
        eos_text=tokenizer.eos_token or "",
        uses_chat=uses_chat,
    )
    return vocab, intended


def _write_checked_file(
    model,
    tokenizer,
    vocab: GgufVocab,
    intended: Intended,
    reference: list[dict],
    support: GgufSupport,
    *,
    run_dir: Path,
    out: Path,
    quant: str,
    max_new_tokens: int,
    state: TaskState,
) -> tuple[int, float, RoundTripResult]:
    """Write the GGUF under a temporary name, read it back and judge it; only a file that passes becomes ``out``.

    Returns the file's size, the seconds writing took and the round-trip result.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.stem}.partial-{os.getpid()}.gguf")
    try:
        write_started = time.monotonic()
        write_gguf(model, vocab, support, partial, quant=quant, name=run_dir.name, state=state.span(0.3, 0.6))
        write_s = time.monotonic() - write_started
        state.report(0.6, "Reading the file back and asking it the probe prompts…")
        result = round_trip(
            partial,
            reference=reference,
            source_tokenizer=tokenizer,
            intended=intended,
            max_new_tokens=max_new_tokens,
            state=state.span(0.6, 0.97),
        )
        _judge(result, quant, lambda: _rounding_explains(model, tokenizer, result, intended, max_new_tokens))
        size = partial.stat().st_size
        os.replace(partial, out)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    return size, write_s, result


def _report(
    export: GgufExport, run_dir: Path, support: GgufSupport, vocab: GgufVocab, intended: Intended, timings: dict
) -> dict:
    """The ``<name>.export.json`` beside the file: what was written, from which run, how it was checked."""
    modelfile = export.modelfile
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "created": now_iso(),
        "run": str(run_dir.resolve()),
        "file": export.path.name,
        "quant": export.quant,
        "size_bytes": export.size_bytes,
        "architecture": support.gguf_arch,
        "model_type": support.model_type,
        "tokenizer": {
            "pre": vocab.pre,
            "eos": intended.eos_text,
            "end_of_turn": intended.eot_text,
            "add_bos": vocab.add_bos,
            "chat_template": intended.chat_template,
            "run_used_chat_template": intended.uses_chat,
        },
        "modelfile": {
            "path": export.modelfile_path.name,
            "template_translated": modelfile.template is not None,
            "note": modelfile.note,
            "stops": modelfile.stops,
            "system": modelfile.system,
        },
        "ollama": {"name": export.ollama_name, "commands": export.ollama_commands},
        "round_trip": export.round_trip.to_dict(),
        "timings": timings,
        "versions": library_versions("gguf"),
    }


def _stops(intended: Intended) -> list[str]:
    return list(dict.fromkeys(t for t in (intended.eot_text, intended.eos_text) if t))


def _rounding_explains(model, tokenizer, result: RoundTripResult, intended: Intended, max_new_tokens: int) -> bool:
    """Whether the merged model, its matrices rounded to float16 as the file stores them, answers
    exactly as the file does (then the file is faithful and 16-bit rounding alone made the difference).
    Rounds ``model`` in place: call it last."""
    import torch

    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.ndim >= 2:
                parameter.copy_(parameter.half().float())
    differing = [row for row in result.answers if not row["identical"]]
    rounded = answer_probes(
        model,
        tokenizer,
        [row["prompt"] for row in differing],
        uses_chat=intended.uses_chat,
        max_new_tokens=max_new_tokens,
    )
    return all(r["tokens"] == row["gguf_tokens"] for r, row in zip(rounded, differing))


def _judge(result: RoundTripResult, quant: str, rounding_explains) -> None:
    """Metadata problems always fail; different answers fail for float16 (the file must be exact)."""
    if result.problems:
        raise ExportError(f"The GGUF check failed: {'; '.join(result.problems)}. The file was not kept.")
    if quant == "f16" and not result.all_identical:
        if rounding_explains():
            reason = (
                "The merged model with its weights rounded to 16 bits answers exactly as the file, so the file "
                "holds the model faithfully and 16-bit rounding alone tipped a close choice between two tokens. "
                "The file was not kept; q8_0 export keeps a rounded file and lists the differences."
            )
        else:
            reason = "The file does not reproduce the model (a conversion fault); it was not kept."
        raise ExportError(
            f"The float16 GGUF file answered {result.total - result.identical} of {result.total} probe prompts "
            f"differently from the merged model ({first_difference(result)}). {reason}"
        )
