"""The Playground's work, as plain functions run in workers (no widgets touched here)."""

from __future__ import annotations

import threading
import time

from ift_desktop.core.data.dataset_files import read_split
from ift_desktop.core.errors import DataError


class ModelCache:
    """Keeps the last loaded model between generations (loading takes seconds). Plain Python:
    workers use it; widgets never do."""

    def __init__(self):
        self._lock = threading.Lock()
        self.key = None
        self.loaded = None

    def get(self, model_text: str, state=None):
        from ift_desktop.core.models import ModelSpec, load_model

        with self._lock:
            if self.loaded is None or self.key != model_text:
                self.loaded, self.key = None, None
                self.loaded = load_model(ModelSpec.parse(model_text), state=state)
                self.key = model_text
            return self.loaded


def read_pool_and_queries(folder) -> tuple[list[dict], list[dict]]:
    pool = read_split(folder, "train")
    queries = read_split(folder, "test") or read_split(folder, "validation")
    if not pool or not queries:
        raise DataError(f"Dataset {folder} needs a train split (for shots) and a test split (for questions).")
    return pool, queries


def references_of(example: dict) -> list[str]:
    refs = example.get("references")
    return [str(r) for r in refs] if refs else [str(example.get("completion", ""))]


def load_tokenizer_info(model_text: str, state=None):
    from ift_desktop.core.models import ModelSpec, load_tokenizer

    spec = ModelSpec.parse(model_text)
    tokenizer = load_tokenizer(spec, state=state)
    return model_text, tokenizer, _context_length(spec, tokenizer)


def _context_length(spec, tokenizer) -> int:
    from transformers import AutoConfig

    from ift_desktop.core.models.loading import context_length_of, resolve_model_folder, run_parts

    try:
        if spec.source == "run":
            base, _adapter, full = run_parts(spec.name_or_path)
            folder = full if full is not None else resolve_model_folder(base)
        else:
            folder = resolve_model_folder(spec)
        config = AutoConfig.from_pretrained(folder, trust_remote_code=spec.trust_remote_code)
    except Exception:
        config = None
    return context_length_of(config, tokenizer)


def build_prompt(pool, query, shots, tokenizer, context_length):
    from ift_desktop.core.evaluation.icl import build_few_shot_prompt
    from ift_desktop.core.evaluation.shots import same_task_pool

    return build_few_shot_prompt(
        same_task_pool(pool, query), query, shots, tokenizer=tokenizer, context_length=context_length
    )


def count_prompt_tokens(tokenizer, text: str) -> int:
    from ift_desktop.core.models.formatting import format_for_model

    return len(format_for_model(text, "", tokenizer).prompt_ids)


def token_streamer(tokenizer):
    """A ``transformers.TextIteratorStreamer`` that hands out the new text after every token; the stock one
    waits for a space, so a long word or an answer without spaces would arrive all at once."""
    from transformers import TextIteratorStreamer

    class TokenByTokenStreamer(TextIteratorStreamer):
        def put(self, value):
            if len(value.shape) > 1:
                value = value[0]
            if self.skip_prompt and self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            self.token_cache.extend(value.tolist())
            text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
            if text.endswith("\ufffd"):  # half of a character: wait for the rest of its bytes
                return
            new = text[self.print_len :]
            self.print_len += len(new)
            if new:
                self.on_finalized_text(new)

    return TokenByTokenStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


def answer(cache: ModelCache, model_text: str, prompt: str, references: list[str], max_new_tokens: int, state=None):
    """Generate one answer, streaming it: the text so far goes out as ``{"kind": "answer", "text"}`` partials
    (a TextIteratorStreamer fed by generation in a helper thread, read here in the worker)."""
    from ift_desktop.core.evaluation.generation import GenerationSettings, generate
    from ift_desktop.core.evaluation.metrics import score

    loaded = cache.get(model_text, state)
    start = time.perf_counter()
    streamer = token_streamer(loaded.tokenizer)
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = generate(
                loaded,
                [prompt],
                GenerationSettings(max_new_tokens=max_new_tokens),
                batch_size=1,
                state=state,
                streamer=streamer,
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the worker below, which reports it
            outcome["error"] = exc
        finally:
            streamer.end()  # also when generation failed before its first token: the loop below ends

    thread = threading.Thread(target=run, name="playground-generate", daemon=True)
    thread.start()
    shown = ""
    for piece in streamer:
        shown += piece
        if state is not None and piece:
            state.partial({"kind": "answer", "text": shown})
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    text = outcome["result"].texts[0]
    rouge_l = score([text], [references])["examples"][0]["rougeL"]["fmeasure"]
    return text, rouge_l, time.perf_counter() - start


def compare(cache: ModelCache, model_text: str, pool, queries, counts, max_new_tokens: int, state=None):
    from ift_desktop.core.evaluation.shots import compare_shot_counts

    loaded = cache.get(model_text, state)
    return compare_shot_counts(loaded, pool, queries, counts, max_new_tokens=max_new_tokens, state=state)
