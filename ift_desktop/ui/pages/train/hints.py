"""Plain-language reading of the curves while a run goes on.

``CurveReader`` watches the logged losses and validation losses and returns a sentence when the
curves say something a beginner should know: a loss that is exactly 0 or not a number (something is
wrong), or a validation loss that has risen for several evaluations in a row (likely overfitting).
Each hint is given once per run. No Qt here: the page shows what this returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

RISING_EVALUATIONS = 3  # how many rises in a row of the validation loss count as "overfitting"


@dataclass
class Hint:
    kind: str  # "broken" | "overfitting"
    level: str  # an InlineMessage kind: "error" | "warning"
    text: str


@dataclass
class CurveReader:
    rising: int = RISING_EVALUATIONS
    _eval: list[tuple[int, float]] = field(default_factory=list)
    _given: set[str] = field(default_factory=set)

    def reset(self) -> None:
        self._eval.clear()
        self._given.clear()

    def on_log(self, step: int, loss) -> Hint | None:
        if loss is None or "broken" in self._given:
            return None
        value = float(loss)
        if math.isnan(value) or math.isinf(value):
            shown = "not a number (NaN)" if math.isnan(value) else "infinite"
        elif value == 0.0:
            shown = "exactly 0"
        else:
            return None
        self._given.add("broken")
        return Hint(
            "broken",
            "error",
            f"Something is wrong: the training loss is {shown} at step {step}. A real loss is never exactly 0 or "
            "NaN; check that the dataset has completions (not only prompts), then try a lower learning rate.",
        )

    def on_eval(self, step: int, eval_loss) -> Hint | None:
        if eval_loss is None or not math.isfinite(float(eval_loss)):
            return None
        self._eval.append((int(step), float(eval_loss)))
        if "overfitting" in self._given or len(self._eval) <= self.rising:
            return None
        tail = [loss for _, loss in self._eval[-(self.rising + 1) :]]
        if not all(later > earlier for earlier, later in zip(tail, tail[1:])):
            return None
        best_step, best_loss = min(self._eval, key=lambda item: item[1])
        self._given.add("overfitting")
        return Hint(
            "overfitting",
            "warning",
            f"Likely overfitting: the validation loss has risen for {self.rising} evaluations in a row "
            f"(best {best_loss:.3f} at step {best_step}). The model is memorising the training examples; "
            "consider stopping, fewer steps or epochs, a lower learning rate, or more data.",
        )
