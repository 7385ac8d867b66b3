"""Data preparation: sources, tasks, templates, splits, mixtures, token statistics and dataset files.

Import from the submodules (``from ift_desktop.core.data.sources import load_source``); the
most used names are re-exported here for convenience.
"""

from .dataset_files import SPLITS, read_manifest, read_split, references_of, write_dataset
from .prepare import MixtureComponent, PrepareConfig, PrepareResult, build_examples, prepare, prepare_mixture
from .sources import SampleTask, Table, load_source, sample_tasks
from .splits import find_leakage, split_examples
from .tasks import TASKS, TaskSpec, get_task, guess_mapping
from .templates import RANDOM, Template, TemplateLibrary, render, validate_template

__all__ = [
    "MixtureComponent",
    "PrepareConfig",
    "PrepareResult",
    "build_examples",
    "prepare",
    "prepare_mixture",
    "find_leakage",
    "split_examples",
    "SPLITS",
    "read_manifest",
    "read_split",
    "references_of",
    "write_dataset",
    "SampleTask",
    "Table",
    "load_source",
    "sample_tasks",
    "TASKS",
    "TaskSpec",
    "get_task",
    "guess_mapping",
    "RANDOM",
    "Template",
    "TemplateLibrary",
    "render",
    "validate_template",
]
