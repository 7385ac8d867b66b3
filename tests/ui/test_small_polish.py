"""Smaller polish: whole-step ticks, legends beside (not over) the lines, dialogs in the workspace, read-only
built-in templates."""

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog

from ift_desktop.ui.context import AppContext
from ift_desktop.ui.widgets.plot_parts import StepAxis, legend_above


@pytest.mark.parametrize("low, high", [(0, 1), (0, 2), (0, 3.5), (0, 8), (1, 60), (0, 1000)])
def test_step_axis_ticks_are_whole_steps(qtbot, low, high):
    axis = StepAxis("bottom")
    levels = axis.tickValues(low, high, 400)
    values = [v for _spacing, vs in levels for v in vs]
    assert values and all(float(v).is_integer() for v in values)


def test_a_legend_above_the_plot_is_outside_its_data_area(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    legend = legend_above(plot.plotItem, columns=2)
    plot.plot([0, 1, 2], [3, 1, 2], name="a run")
    assert [label.text for _sample, label in legend.items] == ["a run"]
    assert legend.parentItem() is not plot.plotItem.vb  # not drawn over the lines
    plot.resize(400, 300)
    plot.show()
    qtbot.wait(50)
    legend_box = legend.mapRectToScene(legend.boundingRect())
    data_box = plot.plotItem.vb.mapRectToScene(plot.plotItem.vb.boundingRect())
    assert legend_box.bottom() <= data_box.top() + 1


@pytest.fixture
def context(tmp_path):
    return AppContext(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))


def test_file_dialogs_open_in_the_workspace_then_the_last_folder(qtbot, context, tmp_path, monkeypatch):
    from ift_desktop.ui.pages.data import DataPage

    page = DataPage(context)
    qtbot.addWidget(page)
    starts = []
    chosen = tmp_path / "mine" / "data.csv"
    chosen.parent.mkdir()

    def fake_open(_parent, _title, start, _filter):
        starts.append(start)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake_open)
    page.source_step._browse()
    assert starts[-1] == str(context.workspace.root)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a: (str(chosen), ""))
    monkeypatch.setattr(page.source_step, "load", lambda: None)
    page.source_step._browse()
    page.source_step.path_edit.clear()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", fake_open)
    page.source_step._browse()
    assert starts[-1] == str(chosen.parent)


def test_built_in_templates_are_read_only_with_duplicate_to_edit(qtbot, context):
    from ift_desktop.core.data.sources import load_source
    from ift_desktop.ui.pages.data.state import WizardState
    from ift_desktop.ui.pages.data.template_step import TemplateStep

    state = WizardState(
        table=load_source("sample:dialogue_summaries"),
        task="summarization",
        mapping={"document": ["dialogue"], "summary": ["summary"]},
        source_spec="sample:dialogue_summaries",
    )
    step = TemplateStep(state, context)
    qtbot.addWidget(step)
    step.enter()
    assert step.prompt_edit.isReadOnly() and step.completion_edit.isReadOnly()
    assert "read-only" in step.description.text() and "Duplicate to edit" in step.description.text()
    assert step.copy_button.text() == "Duplicate to edit"
    step.copy_button.click()
    assert not step.prompt_edit.isReadOnly() and step.name_edit.text().startswith("my-")
