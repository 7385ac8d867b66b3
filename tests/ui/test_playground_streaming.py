"""The Playground streams its answer token by token, and the shot comparison's counters match its bar."""

import pytest
from PySide6.QtCore import QSettings
from tiny_models import make_tiny_dataset

from ift_desktop.core.errors import Cancelled
from ift_desktop.core.progress import TaskState
from ift_desktop.ui.context import AppContext
from ift_desktop.ui.pages.playground import PlaygroundPage, jobs


@pytest.fixture(scope="module")
def model(llama):
    return str(llama)


def test_the_answer_arrives_in_pieces_that_end_in_the_final_text(model):
    parts = []
    text, _rouge, _seconds = jobs.answer(
        jobs.ModelCache(),
        model,
        "Summarize: A and B meet.",
        ["They meet."],
        12,
        state=TaskState(on_partial=parts.append),
    )
    streamed = [p["text"] for p in parts if p.get("kind") == "answer"]
    assert len(streamed) >= 2  # more than one update: token by token, not all at once
    assert all(later.startswith(earlier) for earlier, later in zip(streamed, streamed[1:]))
    assert streamed[-1].strip() == text


def test_cancelling_a_streamed_answer_ends_it(model):
    state = TaskState()
    seen = []

    def on_partial(part):
        seen.append(part)
        state.cancel()

    state._on_partial = on_partial
    with pytest.raises(Cancelled):
        jobs.answer(jobs.ModelCache(), model, "Summarize: A and B meet.", ["They meet."], 40, state=state)
    assert seen


def test_the_page_shows_the_answer_while_it_grows(qtbot, tmp_path, model):
    context = AppContext(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    make_tiny_dataset(context.workspace.datasets_dir / "tiny", n=12, val=2, test=3)
    page = PlaygroundPage(context)
    qtbot.addWidget(page)
    page.model_other.setText(model)
    page._on_model_changed()
    qtbot.waitUntil(lambda: page.tokenizer_key == model and page._task is None, timeout=20000)
    shown = []
    page.answer_view.textChanged.connect(lambda: shown.append(page.answer_view.toPlainText()))
    page.max_new_spin.setValue(12)
    page.generate()
    qtbot.waitUntil(lambda: page._task is None and bool(page.answer_score.text()), timeout=30000)
    growing = [text for text in shown if text]
    assert len(growing) >= 2


def test_shot_comparison_messages_count_what_the_bar_counts(model, tmp_path):
    make_tiny_dataset(tmp_path / "d", n=12, val=2, test=4)
    pool, queries = jobs.read_pool_and_queries(tmp_path / "d")
    reports, rows = [], []
    state = TaskState(
        on_progress=lambda f, m: reports.append((f, m)),
        on_partial=lambda p: rows.append(p) if p.get("kind") == "shot_row" else None,
    )
    jobs.compare(jobs.ModelCache(), model, pool, queries[:2], [0, 1, 2], 4, state=state)
    assert [r["row"].shots for r in rows] == [0, 1, 2]  # each row arrives when its shot count is done
    for fraction, message in reports:
        if "of 3)" in message:
            index = int(message.split("(")[1].split(" of")[0]) - 1
            assert index / 3 - 1e-9 <= fraction <= (index + 1) / 3 + 1e-9, (fraction, message)
