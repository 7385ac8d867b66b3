"""How far prompting alone gets: the same test examples answered with 0, 1, … k shots.

Used by the Playground page ("compare shot counts") and usable from scripts. Each shot count is
scored with the same ROUGE as the evaluation, so the numbers are comparable with fine-tuning.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EvaluationError
from ..progress import TaskState, span


@dataclass
class ShotComparisonRow:
    shots: int
    rouge1: float
    rougeL: float
    mean_prompt_tokens: float
    examples_that_fit: int
    examples: int
    predictions: list[str]


def same_task_pool(pool: list[dict], query: dict) -> list[dict]:
    """Shots must show the query's own task: in a multi-task mixture, a summary before a sentiment
    question teaches the wrong answer format."""
    task = query.get("task")
    matching = [example for example in pool if example.get("task") == task] if task else []
    return matching or pool


def _references(example: dict) -> list[str]:
    refs = example.get("references")
    return [str(r) for r in refs] if refs else [str(example.get("completion", ""))]


def compare_shot_counts(
    loaded,
    pool: list[dict],
    queries: list[dict],
    shot_counts=(0, 1, 3),
    *,
    max_new_tokens: int = 64,
    batch_size: int = 4,
    state: TaskState | None = None,
) -> list[ShotComparisonRow]:
    """Answer ``queries`` with each number of shots drawn from ``pool`` (e.g. the train split)."""
    from .generation import GenerationSettings, generate
    from .icl import build_few_shot_prompt
    from .metrics import score

    if not queries:
        raise EvaluationError("No test examples to answer; prepare a dataset with a non-empty test split.")
    smallest = min(len(same_task_pool(pool, query)) for query in queries)
    if max(shot_counts) > smallest:
        raise EvaluationError(
            f"{max(shot_counts)} shots asked for, but the training split has only {smallest} examples of that task."
        )
    settings = GenerationSettings(max_new_tokens=max_new_tokens)
    rows = []
    for index, k in enumerate(shot_counts):
        step = f"{k}-shot ({index + 1} of {len(shot_counts)})"  # the message and the bar count the same work
        stage = span(state, index / len(shot_counts), (index + 1) / len(shot_counts), step)
        if stage is not None:
            stage.report(0.0, "building prompts")
        prompts = [
            build_few_shot_prompt(
                same_task_pool(pool, query), query, k, tokenizer=loaded.tokenizer, context_length=loaded.context_length
            )
            for query in queries
        ]
        result = generate(
            loaded, [p.text for p in prompts], settings, batch_size=batch_size, state=stage, what="answers"
        )
        scores = score(result.texts, [_references(q) for q in queries])
        corpus = scores["corpus"]
        rows.append(
            ShotComparisonRow(
                shots=k,
                rouge1=corpus["rouge1"]["fmeasure"],
                rougeL=corpus["rougeL"]["fmeasure"],
                mean_prompt_tokens=sum(p.tokens_total for p in prompts) / len(prompts),
                examples_that_fit=sum(1 for p in prompts if p.fits),
                examples=len(prompts),
                predictions=list(result.texts),
            )
        )
        if state is not None:
            state.partial({"kind": "shot_row", "row": rows[-1]})
    if state is not None:
        state.report(1.0, "Done")
    return rows
