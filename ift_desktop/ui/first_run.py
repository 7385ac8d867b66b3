"""On first start, put the built-in sample into the workspace so every page has data to show."""

from __future__ import annotations

from ift_desktop.ui.workers import run_in_thread

SAMPLE_NAME = "sample-dialogues-and-reviews"


def _prepare_sample(out_dir, state=None):
    from ift_desktop.core.data.prepare import PrepareConfig, prepare

    return prepare(PrepareConfig(source="sample"), out_dir, state=state)


def ensure_sample_dataset(context):
    """Prepare the built-in sample in a worker if the workspace holds no dataset yet."""
    if context.workspace.list_datasets():
        return None
    handle = run_in_thread(context, _prepare_sample, context.workspace.datasets_dir / SAMPLE_NAME)
    handle.worker.finished.connect(lambda _result: context.datasets_changed.emit())
    handle.worker.finished.connect(
        lambda _result: context.status_message.emit("The built-in sample dataset is ready in your workspace.")
    )
    handle.worker.failed.connect(
        lambda message, _details, _user: context.status_message.emit(
            f"The sample dataset could not be prepared: {message}"
        )
    )
    return handle
