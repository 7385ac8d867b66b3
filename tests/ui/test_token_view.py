"""The two-colour token view and the token-length histogram."""

from __future__ import annotations

import pytest
from transformers import ByT5Tokenizer

from ift_desktop.core.models.formatting import format_for_model
from ift_desktop.ui.widgets.histogram import LengthHistogram, histogram_bins, truncated_share
from ift_desktop.ui.widgets.token_view import (
    COMPLETION_COLOURS,
    CUT_COLOUR,
    PROMPT_COLOURS,
    TokenView,
    pieces_html,
    token_pieces,
)


@pytest.fixture(scope="module")
def tokenizer():
    return ByT5Tokenizer()


def test_pieces_rebuild_the_text_and_mark_the_completion(tokenizer):
    text = format_for_model("Summarize: café", "They meet.", tokenizer)
    pieces = token_pieces(tokenizer, text.prompt_ids, text.completion_ids)
    prompt = "".join(p.text for p in pieces if not p.trained)
    completion = "".join(p.text for p in pieces if p.trained)
    assert prompt == "Summarize: café"  # the two bytes of "é" are joined into one piece
    assert completion == "They meet.</s>"
    assert [p.special for p in pieces if p.trained][-1] is True  # the eos marker
    assert not any(p.cut for p in pieces)


def test_max_length_marks_the_dropped_tokens(tokenizer):
    text = format_for_model("abcdef", "xyz", tokenizer)  # 6 prompt bytes + 3 + eos
    causal = token_pieces(tokenizer, text.prompt_ids, text.completion_ids, max_length=8)
    assert [p.cut for p in causal] == [False] * 8 + [True] * 2
    seq2seq = format_for_model("abcdef", "xyz", tokenizer, is_seq2seq=True)
    pieces = token_pieces(tokenizer, seq2seq.prompt_ids, seq2seq.completion_ids, max_length=5, is_seq2seq=True)
    prompt_cut = [p.cut for p in pieces if not p.trained]
    completion_cut = [p.cut for p in pieces if p.trained]
    assert prompt_cut == [False] * 5 + [True] * 2  # 6 bytes + eos, cut on their own
    assert completion_cut == [False] * 4  # xyz + eos fit in 5


def test_view_draws_two_colours_and_a_legend(qtbot, tokenizer):
    view = TokenView()
    qtbot.addWidget(view)
    text = format_for_model("Hi <b>there</b>\nnext", "ok", tokenizer)
    pieces = token_pieces(tokenizer, text.prompt_ids, text.completion_ids, max_length=21)
    view.set_pieces(pieces)
    html = pieces_html(pieces)
    assert PROMPT_COLOURS[0] in html and COMPLETION_COLOURS[0] in html and CUT_COLOUR in html
    assert "&lt;" in html and "<b>" not in html  # text is escaped, not interpreted
    assert "Hi <b>there</b>" in view.text.toPlainText()
    assert view.plain_text().startswith("Hi <b>there</b>\nnext")
    assert view.counts.text() == "20 prompt + 3 completion tokens · 2 dropped"
    view.set_message("nothing")
    assert view.pieces == [] and view.text.toPlainText() == "nothing"


def test_histogram_counts_and_cutoff(qtbot):
    lengths = [10, 12, 30, 31, 50, 100, 101, 250]
    counts, edges = histogram_bins(lengths, bins=10)
    assert counts.sum() == len(lengths) and edges[0] <= 10 and edges[-1] > 250
    assert truncated_share(lengths, 100) == (2, 0.25)

    plot = LengthHistogram()
    qtbot.addWidget(plot)
    plot.set_lengths(lengths, 100)
    assert plot.truncated() == (2, 0.25)
    assert "2 of 8 examples (25.0%)" in plot.caption.text()
    assert len(plot._bars) == 2  # kept bars and cut bars in two colours
    assert plot._line.value() == 100
    plot.set_max_length(300)
    assert plot.truncated() == (0, 0.0) and len(plot._bars) == 1
    plot.set_lengths(lengths, 100, n_truncated=3)  # a seq2seq judgement passed in
    assert plot.truncated() == (3, 0.375)
    plot.set_lengths([], 100)
    assert plot.lengths == [] and "No examples" in plot.caption.text()
