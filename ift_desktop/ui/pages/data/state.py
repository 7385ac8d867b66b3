"""What the data wizard has decided so far, kept in one plain (Qt-free) object.

Each step writes its decisions here when the user presses Next and reads the earlier steps'
decisions when it is shown. ``prepare_config()`` and ``components()`` turn the state into the
same :class:`PrepareConfig` / :class:`MixtureComponent` objects that ``ift-desktop prepare``
uses, so the wizard and the command line produce the same dataset for the same choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ift_desktop.core.data.prepare import MixtureComponent, PrepareConfig


@dataclass
class ExtraSource:
    """A further mixture component added on the split & mixture step."""

    label: str
    config: PrepareConfig
    rows: int | None = None
    cap: int | None = None
    weight: float | None = None


@dataclass
class WizardState:
    # 1 source
    source_spec: str = ""  # what load_source takes: a path, hf:NAME[:CONFIG], sample:NAME
    source_label: str = ""
    source_split: str = "train"
    limit: int | None = None
    table: object | None = None  # core.data.sources.Table
    table_version: int = 0  # bumped on every load, so later steps know the data changed
    sample_mapping: dict[str, list[str]] | None = None  # the sample's own mapping
    sample_task: str | None = None
    # 2 columns / task
    task: str | None = None
    mapping: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    # 3 template
    template: str | None = None  # a template name, or "random"
    # 4 split & mixture
    val: float = 0.1
    test: float = 0.1
    seed: int = 42
    stratify: bool = False
    main_cap: int | None = None
    main_weight: float | None = None
    extra: list[ExtraSource] = field(default_factory=list)
    plan: object | None = None  # jobs.DatasetPlan: the prepared splits and manifest, ready to save
    splits: dict[str, list[dict]] | None = None
    leakage: list[str] = field(default_factory=list)
    plan_key: tuple | None = None
    # 5 statistics
    model_text: str = "builtin"
    max_length: int = 512
    token_summary: dict | None = None  # TokenStats.summary() at the chosen max length, with the model

    # ------------------------------------------------------------------------------------------
    def prepare_config(self) -> PrepareConfig:
        """The main source's settings, as ``ift-desktop prepare`` would take them."""
        return PrepareConfig(
            source=self.source_spec,
            task=self.task,
            template=self.template,
            mapping={k: list(v) for k, v in self.mapping.items() if v},
            params=dict(self.params),
            val=self.val,
            test=self.test,
            seed=self.seed,
            limit=self.limit,
            stratify=self.stratify,
            source_split=self.source_split,
        )

    def is_mixture(self) -> bool:
        return bool(self.extra)

    def components(self) -> list[MixtureComponent]:
        main = MixtureComponent(self.prepare_config(), cap=self.main_cap, weight=self.main_weight)
        others = [
            MixtureComponent(
                replace(e.config, val=self.val, test=self.test, seed=self.seed), cap=e.cap, weight=e.weight
            )
            for e in self.extra
        ]
        return [main, *others]

    def key(self) -> tuple:
        """Everything the examples and splits depend on (a change means: recompute them)."""
        config = self.prepare_config()
        return (
            config.source,
            config.source_split,
            config.limit,
            config.task,
            config.template,
            tuple(sorted((k, tuple(v)) for k, v in config.mapping.items())),
            tuple(sorted(config.params.items())),
            config.val,
            config.test,
            config.seed,
            config.stratify,
            self.main_cap,
            self.main_weight,
            tuple(
                (
                    e.label,
                    e.config.source,
                    e.config.task,
                    e.config.template,
                    tuple(sorted((k, tuple(v)) for k, v in e.config.mapping.items())),
                    e.cap,
                    e.weight,
                )
                for e in self.extra
            ),
            self.table_version,
        )

    def all_examples(self) -> list[dict]:
        if not self.splits:
            return []
        return [example for name in ("train", "validation", "test") for example in self.splits.get(name, [])]
