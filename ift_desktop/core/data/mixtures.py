"""Multi-task mixtures: how many examples each part contributes, and mixture files.

Each part (a source prepared for one task) has ``available`` examples, an optional ``cap`` (at
most this many) and an optional ``weight`` (its share of the mixture). Without weights every
part gives ``min(available, cap)`` — examples-proportional mixing — scaled down together when a
``total`` is asked for. With weights the mixture is the largest one whose parts stand exactly in
the asked proportions (up to rounding) without exceeding any part's cap or supply.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from ..errors import DataError
from .splits import _allot


def mixture_sizes(
    available: list[int], caps: list[int | None], weights: list[float | None], total: int | None = None
) -> list[int]:
    """How many examples to take from each part (same order as the inputs)."""
    n = len(available)
    if not (len(caps) == len(weights) == n):
        raise ValueError("available, caps and weights must have one entry per part")
    for cap in caps:
        if cap is not None and (isinstance(cap, bool) or cap < 1):
            raise DataError(f"A mixture cap must be a count of at least 1 (got {cap}).")
    given = [w for w in weights if w is not None]
    if given and len(given) != n:
        raise DataError("Give a weight to every part of the mixture or to none of them.")
    if any(w <= 0 or math.isnan(w) for w in given):
        raise DataError(f"Mixture weights must be positive numbers (got {', '.join(str(w) for w in given)}).")
    if total is not None and total < 1:
        raise DataError(f"The mixture total must be at least 1 (got {total}).")
    limits = {i: min(available[i], caps[i]) if caps[i] is not None else available[i] for i in range(n)}
    if not given:
        if total is None or total >= sum(limits.values()):
            return [limits[i] for i in range(n)]
        alloc = _allot(total, limits, limits)
        return [alloc[i] for i in range(n)]
    whole = sum(given)
    biggest = min(limits[i] * whole / weights[i] for i in range(n))
    size = math.floor(biggest + 1e-9) if total is None else min(total, math.floor(biggest + 1e-9))
    alloc = _allot(size, {i: weights[i] for i in range(n)}, limits)
    return [alloc[i] for i in range(n)]


def _as_columns(value) -> list[str]:
    if isinstance(value, str):
        return [c.strip() for c in value.split(",") if c.strip()]
    if isinstance(value, list):
        return [str(c) for c in value]
    raise DataError(f"A mapping value must be a column name or a list of them, got {value!r}.")


def read_mixture_file(path: str | Path) -> dict:
    """Read a mixture description (YAML or JSON)::

        val: 0.1            # optional, as --val
        test: 0.1
        total: 400          # optional
        parts:
          - source: dialogs.jsonl
            task: summarization
            map: {document: dialogue, summary: summary}
            template: random
            cap: 200
            weight: 2

    Returns ``{"parts": [dict, ...], "val"?, "test"?, "total"?, "seed"?}`` with ``map`` as
    field → list of columns.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"Mixture file not found: {path}; check the path.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"Cannot read the mixture file {path}: {str(exc).splitlines()[0]}.") from None
    parts = data.get("parts", data.get("components")) if isinstance(data, dict) else None
    if not isinstance(parts, list) or not parts:
        raise DataError(f"{path} lists no parts; it needs `parts:` with a source and task for each.")
    out = {k: data[k] for k in ("val", "test", "total", "seed") if k in data}
    out["parts"] = []
    for number, part in enumerate(parts, start=1):
        if not isinstance(part, dict) or not part.get("source"):
            raise DataError(f"Part {number} of {path} has no source.")
        part = dict(part)
        part["map"] = {str(k): _as_columns(v) for k, v in (part.get("map") or part.get("mapping") or {}).items()}
        part.pop("mapping", None)
        base = Path(str(part["source"])).expanduser()
        if not str(part["source"]).startswith(("hf:", "sample")) and not base.is_absolute():
            part["source"] = str((path.parent / base).resolve())  # relative to the mixture file
        out["parts"].append(part)
    return out
