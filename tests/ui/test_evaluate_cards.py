"""The Evaluate page's cards: colour and words follow the paired test, not the sign of the difference."""

import pytest
from test_evaluate_page import context, evaluation_json, open_page  # noqa: F401 - fixtures

from ift_desktop.core.atomic import atomic_write_json
from ift_desktop.core.evaluation.report import MIN_EXAMPLES_FOR_VERDICT

GREEN, GREY = "#1e7b34", "#667085"


def write_pair(context, base, tuned):
    folder = context.workspace.evaluations_dir
    b = atomic_write_json(folder / "b.json", evaluation_json(base, role="base", partner="t"))
    t = atomic_write_json(folder / "t.json", evaluation_json(tuned, role="tuned", partner="b", run="/runs/x"))
    return b, t


def wait_for_test(qtbot, page):
    qtbot.waitUntil(lambda: page.summary.summary is not None and not page.is_busy(), timeout=20000)


def test_a_clear_gain_is_green_and_says_so(qtbot, context):
    n = 14
    page = open_page(
        qtbot, context, *write_pair(context, ["the weather is nice today"] * n, ["It is cold outside"] * n)
    )
    wait_for_test(qtbot, page)
    card = page.summary.cards["rouge1"]
    assert card.verdict == "better"
    assert GREEN in card.detail.text() and "unlikely to be chance" in card.detail.text()
    assert page.summary.too_few.isHidden()


def test_a_difference_that_is_not_significant_is_grey_and_says_so(qtbot, context):
    n = 12
    base = ["It is cold outside", "cold"] * (n // 2)
    tuned = ["cold", "It is cold outside"] * (n // 2)
    tuned[0] = "It is cold outside"  # a small gain on one example: +0.04 that is chance
    page = open_page(qtbot, context, *write_pair(context, base, tuned))
    wait_for_test(qtbot, page)
    card = page.summary.cards["rouge1"]
    assert card.verdict == "unclear"
    assert "+" in card.detail.text()  # the number is still shown ...
    assert GREEN not in card.detail.text() and GREY in card.detail.text()  # ... but not dressed as progress
    assert "not significant" in card.detail.text()


@pytest.mark.parametrize("n", [1, 5, MIN_EXAMPLES_FOR_VERDICT - 1])
def test_too_few_examples_are_said_up_front(qtbot, context, n):
    page = open_page(qtbot, context, *write_pair(context, ["the weather is nice"] * n, ["It is cold outside"] * n))
    wait_for_test(qtbot, page)
    assert page.summary.too_few.isVisible()
    assert f"Only {n} example" in page.summary.too_few.text()
    for card in page.summary.cards.values():
        assert card.verdict == "too few"
        assert GREEN not in card.detail.text()
