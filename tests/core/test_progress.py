"""TaskState.span: a stage's 0..1 lands in its sub-range of the bar, with its prefix, sharing cancel and partials."""

from __future__ import annotations

import pytest

from ift_desktop.core.errors import Cancelled
from ift_desktop.core.progress import TaskState, span


def _recording():
    seen: list[tuple[float | None, str]] = []
    partials: list[object] = []
    state = TaskState(on_progress=lambda f, m: seen.append((f, m)), on_partial=partials.append)
    return state, seen, partials


def test_span_maps_the_stage_fraction_into_its_range():
    state, seen, _ = _recording()
    stage = state.span(0.2, 0.6)
    for fraction in (0.0, 0.5, 1.0):
        stage.report(fraction, f"step {fraction}")
    assert [f for f, _ in seen] == pytest.approx([0.2, 0.4, 0.6])
    assert [m for _, m in seen] == ["step 0.0", "step 0.5", "step 1.0"]


def test_nested_spans_compose_and_prefixes_stack():
    state, seen, _ = _recording()
    side = state.span(0.5, 1.0, "Fine-tuned")
    side.span(0.0, 0.2, "Loading").report(0.5, "weights")
    side.report(None, "waiting")
    assert seen[0] == (pytest.approx(0.55), "Fine-tuned: Loading: weights")
    assert seen[1] == (None, "Fine-tuned: waiting")  # unknown amount stays unknown


def test_span_shares_cancel_and_partials():
    state, _, partials = _recording()
    stage = state.span(0.0, 0.5, "Base")
    stage.partial({"row": 1})
    assert partials == [{"row": 1}]
    state.cancel()
    assert stage.is_cancelled()
    with pytest.raises(Cancelled):
        stage.check_cancelled()


def test_module_span_is_none_safe():
    assert span(None, 0.0, 0.5, "Base") is None
    state, seen, _ = _recording()
    span(state, 0.1, 0.2).report(1.0, "done")
    assert seen == [(pytest.approx(0.2), "done")]
