"""Base vs fine-tuned on the same items: the one comparison every held-out check shares.

``benchmark mmlu|classification --run`` and the forgetting check (tab and command) all compare a
base model's answers with the fine-tuned model's on the same items here:

* :func:`compare_accuracy` — accuracy before and after, per group (MMLU subject, class) and overall,
  with a paired bootstrap interval of the change and an exact McNemar test on the items only one of
  the two answered right; the ``comparison`` record the benchmark files hold.
* :func:`accuracy_record` — the same comparison in the forgetting result's shape (``overall`` with
  both sides' Wilson intervals, ``groups``, ``test``, ``verdict``).
* :func:`verdict` — ``forgetting`` / ``improved`` / ``no significant change`` at :data:`ALPHA`, for
  accuracy (McNemar) and ROUGE-L (paired randomization) alike.

Wilson intervals of one side's accuracy live here too (:func:`wilson_interval`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable

ALPHA = 0.05


def verdict(delta: float, p_value: float) -> str:
    """The word for a change: significant at ALPHA and down is forgetting, up is an improvement."""
    if p_value < ALPHA:
        return "forgetting" if delta < 0 else "improved"
    return "no significant change"


def wilson_interval(correct: int, n: int, z: float = 1.959964) -> list[float]:
    """The Wilson score 95 % interval of an accuracy."""
    if n == 0:
        return [0.0, 0.0]
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def mcnemar_exact(only_base: int, only_tuned: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (binomial test at 1/2)."""
    n = only_base + only_tuned
    if n == 0:
        return 1.0
    k = min(only_base, only_tuned)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_delta_interval(pairs: list[tuple[bool, bool]], *, resamples: int = 2000, seed: int = 0) -> list[float]:
    """A 95 % paired bootstrap interval of tuned − base accuracy over the same items (seeded)."""
    n = len(pairs)
    if n == 0:
        return [0.0, 0.0]
    diffs = [int(t) - int(b) for b, t in pairs]
    rng = random.Random(seed)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return [round(means[int(0.025 * resamples)], 4), round(means[int(0.975 * resamples) - 1], 4)]


def paired_accuracy(base_examples: list[dict], tuned_examples: list[dict], key: Callable[[dict], Hashable]) -> dict:
    """Right/wrong on the items both sides answered: discordant counts, exact McNemar, delta interval."""
    tuned_by = {key(e): e for e in tuned_examples}
    pairs = [(bool(e["correct"]), bool(tuned_by[key(e)]["correct"])) for e in base_examples if key(e) in tuned_by]
    only_base = sum(1 for b, t in pairs if b and not t)
    only_tuned = sum(1 for b, t in pairs if t and not b)
    return {
        "n": len(pairs),
        "only_base_correct": only_base,
        "only_tuned_correct": only_tuned,
        "mcnemar_p": mcnemar_exact(only_base, only_tuned),
        "delta_ci95": paired_delta_interval(pairs),
    }


def compare_accuracy(
    base: dict, tuned: dict, *, groups_key: str, groups: dict[str, dict], item_key: Callable[[dict], Hashable]
) -> dict:
    """Accuracy before and after fine-tuning: ``overall`` (with the paired delta interval), the
    benchmark's ``groups`` under ``groups_key`` (``subjects``, ``classes``), ``paired`` (McNemar) and
    the ``verdict``. ``item_key`` names an item the same way in both sides' examples."""
    paired = paired_accuracy(base.get("examples", []), tuned.get("examples", []), item_key)
    delta = tuned["accuracy"] - base["accuracy"]
    return {
        "overall": {
            "base": base["accuracy"],
            "tuned": tuned["accuracy"],
            "delta": delta,
            "delta_ci95": paired.pop("delta_ci95"),
        },
        groups_key: groups,
        "paired": paired,
        "verdict": verdict(delta, paired["mcnemar_p"]),
    }


def accuracy_record(cmp: dict, base: dict, tuned: dict, *, groups_key: str) -> dict:
    """:func:`compare_accuracy`'s result in the forgetting result's shape: overall with intervals, McNemar."""
    paired = cmp["paired"]
    low, high = cmp["overall"]["delta_ci95"]
    return {
        "metric": "accuracy",
        "metric_label": "accuracy",
        "chance": base.get("chance"),
        "overall": {
            "base": cmp["overall"]["base"],
            "tuned": cmp["overall"]["tuned"],
            "delta": cmp["overall"]["delta"],
            "n": paired["n"],
            "base_ci95": base.get("ci95"),
            "tuned_ci95": tuned.get("ci95"),
            "delta_low": low,
            "delta_high": high,
        },
        "groups": [{"name": name, **row} for name, row in cmp[groups_key].items()],
        "test": {
            "name": "McNemar",
            "description": "exact McNemar test on the items only one of the two models answered right",
            "p_value": paired["mcnemar_p"],
            "n": paired["n"],
            "only_base": paired["only_base_correct"],
            "only_tuned": paired["only_tuned_correct"],
        },
        "verdict": cmp["verdict"],
    }
