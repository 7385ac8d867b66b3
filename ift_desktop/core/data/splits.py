"""Seeded train / validation / test splits, optional stratification, and a leakage check.

Sizes are fractions (``0.1`` = 10 %) when below 1 and counts (``50`` = 50 examples) from 1 up.
With ``stratify_key`` (a classification label, or a mixture's component), each group is split
on its own with sizes allotted by largest remainder, so every split keeps the group proportions
and the totals are exactly what a plain split would give.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict

from ..errors import DataError


def _check_size(name: str, value: float) -> None:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataError(f"The {name} size must be a number (a fraction below 1 or a count), got {value!r}.")
    if value < 0:
        raise DataError(
            f"The {name} size cannot be negative (got {value}); use a fraction like 0.1 or a count like 50."
        )
    if value >= 1 and value != int(value):
        raise DataError(f"The {name} size {value} is neither a fraction below 1 nor a whole count; use e.g. 0.1 or 50.")


def split_sizes(n: int, *, val: float, test: float) -> tuple[int, int, int]:
    """(train, validation, test) sizes for ``n`` examples; raises DataError when they do not fit."""
    _check_size("validation", val)
    _check_size("test", test)
    if val < 1 and test < 1 and val + test >= 1:
        raise DataError(
            f"Validation ({val}) and test ({test}) fractions add up to {val + test:g}, leaving nothing to train on; "
            "keep their sum below 1."
        )
    n_val = round(n * val) if val < 1 else int(val)
    n_test = round(n * test) if test < 1 else int(test)
    if n_val + n_test >= n:
        raise DataError(
            f"Validation ({n_val}) and test ({n_test}) take all {n} examples, leaving nothing to train on; "
            "ask for smaller splits or use more data."
        )
    for name, asked, got in (("validation", val, n_val), ("test", test, n_test)):
        if asked > 0 and got == 0:
            raise DataError(
                f"A {name} fraction of {asked} of {n} examples is an empty {name} split; "
                f"use a larger fraction, a count, or {name} 0 to skip it."
            )
    return n - n_val - n_test, n_val, n_test


def _allot(total: int, weights: dict, cap: dict) -> dict:
    """Distribute ``total`` over groups proportionally to ``weights`` (largest remainder), within ``cap``."""
    whole = sum(weights.values())
    if whole == 0 or total == 0:
        return {k: 0 for k in weights}
    exact = {k: total * w / whole for k, w in weights.items()}
    alloc = {k: min(cap[k], math.floor(v)) for k, v in exact.items()}
    order = sorted(weights, key=lambda k: exact[k] - math.floor(exact[k]), reverse=True)
    left = total - sum(alloc.values())
    while left > 0:
        progressed = False
        for k in order:
            if left and alloc[k] < cap[k]:
                alloc[k] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    return alloc


def split_examples(
    examples: list, *, val: float, test: float, seed: int, stratify_key: str | None = None
) -> dict[str, list]:
    """Shuffle ``examples`` with ``seed`` and cut them into ``train`` / ``validation`` / ``test``."""
    n = len(examples)
    if n == 0:
        raise DataError("There are no examples to split; check the source and the column mapping.")
    n_train, n_val, n_test = split_sizes(n, val=val, test=test)
    rng = random.Random(seed)
    if not stratify_key:
        order = list(examples)
        rng.shuffle(order)
        return {"test": order[:n_test], "validation": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}

    groups: dict[object, list] = defaultdict(list)
    for example in examples:
        if stratify_key not in example:
            raise DataError(f"Cannot stratify on '{stratify_key}': an example has no such field.")
        groups[str(example[stratify_key])].append(example)
    keys = sorted(groups)
    for key in keys:
        rng.shuffle(groups[key])
    sizes = {k: len(groups[k]) for k in keys}
    test_alloc = _allot(n_test, sizes, sizes)
    rest = {k: sizes[k] - test_alloc[k] for k in keys}
    val_alloc = _allot(n_val, sizes, rest)
    out = {"train": [], "validation": [], "test": []}
    for key in keys:
        items = groups[key]
        t, v = test_alloc[key], val_alloc[key]
        out["test"].extend(items[:t])
        out["validation"].extend(items[t : t + v])
        out["train"].extend(items[t + v :])
    for name in out:  # do not leave the splits sorted by group
        rng.shuffle(out[name])
    return out


def _key(example, field: str = "prompt") -> str:
    if isinstance(example, dict):
        return " ".join(str(example.get(field, "")).split())
    return " ".join(str(example).split())


def find_leakage(splits: dict[str, list], *, key: str = "prompt") -> list[str]:
    """Sentences about examples whose ``key`` field (the prompt by default) appears verbatim,
    whitespace aside, in an earlier split: validation against train, test against both.

    :func:`~ift_desktop.core.data.prepare.prepare` compares the source inputs instead of the
    prompts, so the same document under two template phrasings still counts.
    """
    what = "prompt" if key == "prompt" else "input"
    messages = []
    seen: dict[str, dict[str, int]] = {}
    for name in ("train", "validation", "test"):
        rows = splits.get(name) or []
        keys = [_key(r, key) for r in rows]
        for earlier, index in seen.items():
            hits = [i for i, k in enumerate(keys) if k in index]
            if hits:
                first = hits[0]
                messages.append(
                    f"{len(hits)} {name} example(s) have the same {what} as a {earlier} example "
                    f"(e.g. {name} row {first + 1} = {earlier} row {index[keys[first]] + 1}); "
                    f"scores on {name} will look better than they are."
                )
        seen[name] = {}
        for i, k in enumerate(keys):
            seen[name].setdefault(k, i)
    return messages


def drop_leakage(splits: dict[str, list], *, key: str = "prompt") -> tuple[dict[str, list], int]:
    """Remove from validation/test the examples whose ``key`` is in an earlier split; returns (splits, removed)."""
    seen: set[str] = {_key(r, key) for r in splits.get("train", [])}
    out = {"train": list(splits.get("train", []))}
    removed = 0
    for name in ("validation", "test"):
        kept = []
        for row in splits.get(name, []):
            k = _key(row, key)
            if k in seen:
                removed += 1
                continue
            kept.append(row)
        out[name] = kept
        seen |= {_key(r, key) for r in kept}
    return out, removed
