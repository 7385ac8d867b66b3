"""Turn a source table into an instruction dataset: map columns, template, split, check, save.

:func:`prepare` is what ``ift-desktop prepare`` runs and what the Data wizard's last page calls;
:func:`build_examples` alone gives the rendered examples the wizard previews;
:func:`prepare_mixture` combines several sources/tasks into one multi-task dataset.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import DataError, TemplateError
from ..progress import TaskState
from ..provenance import app_version, now_iso
from .dataset_files import SCHEMA_VERSION, SPLITS, check_replaceable, write_dataset
from .mixtures import mixture_sizes
from .sources import Table, get_sample_task, load_source, sample_tasks
from .splits import drop_leakage, find_leakage, split_examples
from .tasks import TASKS, TaskSpec, closest_columns, get_task, guess_mapping
from .templates import RANDOM, Template, TemplateLibrary, render, validate_template

MAX_OPTIONS = 50  # a classification target with more distinct values than this is not a label set
INPUT_KEY = "_input"  # set by build_examples when asked for a report; prepare() strips it


@dataclass
class PrepareConfig:
    source: str
    task: str | None = None
    template: str | None = None
    mapping: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    val: float = 0.1
    test: float = 0.1
    seed: int = 42
    limit: int | None = None
    stratify: bool = False
    source_split: str = "train"
    drop_leakage: bool = False
    max_length: int | None = None  # the token length chosen for training; kept in the manifest as "max_length"


@dataclass
class PrepareResult:
    out_dir: Path
    counts: dict
    manifest: dict
    leakage: list[str]


@dataclass
class MixtureComponent:
    config: PrepareConfig
    cap: int | None = None
    weight: float | None = None
    name: str | None = None


# ------------------------------------------------------------------------------ field values
def _texts(value) -> list[str]:
    """A cell as a list of texts: strings stay, numbers print, lists give several, {"text": ...} unwraps."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, (int, float)):
        return [str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)]
    if isinstance(value, dict) and "text" in value:
        return _texts(value["text"])
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _texts(item)]
    return [json.dumps(value, ensure_ascii=False)]


def _label_names(params: dict) -> list[str] | None:
    raw = params.get("labels")
    if not raw:
        return None
    names = [n.strip() for n in str(raw).split(",") if n.strip()]
    return names or None


def resolve_mapping(table: Table, task: str, mapping: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """Check (or guess) the field → columns mapping against ``table``; raises DataError naming the problem."""
    spec = get_task(task)
    mapping = {k: list(v) for k, v in (mapping or {}).items()} or guess_mapping(task, table.columns)
    columns = ", ".join(table.columns)
    for name, cols in mapping.items():
        if name not in spec.fields:
            raise DataError(f"Task '{task}' has no field '{name}'; its fields are: {', '.join(spec.fields)}.")
        for col in cols:
            if col not in table.columns:
                close = closest_columns(col, table.columns)
                meant = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
                raise DataError(f"Column '{col}' not found in {table.origin}; columns are: {columns}.{meant}")
    for name in spec.required_fields:
        if not mapping.get(name):
            raise DataError(
                f"Task '{task}' needs the field '{name}', but no column is mapped to it; "
                f"add --map {name}=COLUMN (columns in {table.origin}: {columns})."
            )
    return {name: mapping[name] for name in spec.fields if name in mapping}


def build_examples(
    table: Table,
    config: PrepareConfig,
    library: TemplateLibrary | None = None,
    state: TaskState | None = None,
    report: dict | None = None,
) -> list[dict]:
    """Render every usable row of ``table`` into ``{"prompt", "completion", "task", "template", "references"?}``.

    Rows whose required fields or target are empty are skipped (their number goes to
    ``report["skipped"]`` when a dict is given, with the mapping and template used). With a
    ``report``, each example also carries ``"_input"`` (its source input fields) for the
    leakage check; :func:`prepare` removes it before saving.
    """
    if not config.task:
        raise DataError(f"Choose a task for {table.origin}; the tasks are: {', '.join(TASKS)}.")
    spec = get_task(config.task)
    library = library or TemplateLibrary()
    mapping = resolve_mapping(table, config.task, config.mapping)
    params = {k: str(v) for k, v in (config.params or {}).items()}
    label_names = _label_names(params) if config.task == "classification" else None
    target = spec.target_field
    rows, skipped = _usable_rows(table, spec, mapping, params, label_names)
    extra, notes = _template_values(table, config.task, target, mapping, params, label_names, rows)
    pool = _template_pool(library, config.task, config.template, available={*mapping, *extra})
    inputs = [f for f in spec.input_fields if f in mapping] if report is not None else None
    examples, used = _render_examples(
        rows, pool, extra, config, target=target, several=len(mapping[target]) > 1, inputs=inputs, state=state
    )
    if report is not None:
        report.update(
            mapping=mapping,
            skipped=skipped,
            templates_used=dict(used),
            rows_read=len(table),
            origin=table.origin,
            columns=list(table.columns),
            notes=notes,
        )
        if "options" in extra:
            report["labels"] = list(extra["options"])
    return examples


def _named_label(text: str, label_names: list[str] | None, params: dict, origin: str) -> str:
    """A numeric label as its name from ``labels=`` (when given); any other label as it is."""
    if label_names and text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(label_names):
            raise DataError(
                f"Label {index} in {origin} has no name in labels={params['labels']} "
                f"({len(label_names)} names for ids 0..{len(label_names) - 1})."
            )
        return label_names[index]
    return text


def _usable_rows(
    table: Table, spec: TaskSpec, mapping: dict[str, list[str]], params: dict, label_names: list[str] | None
) -> tuple[list[tuple[dict, list[str]]], int]:
    """Each row with its required fields and target filled, as (field → text, references); and how many were skipped.

    A field mapped to several columns joins their texts; a target mapped to several columns
    gives several references, the first of which is the completion.
    """
    target = spec.target_field
    rows = []
    skipped = 0
    for record in table.records:
        values = {name: [t for col in cols for t in _texts(record.get(col))] for name, cols in mapping.items()}
        refs = [_named_label(t, label_names, params, table.origin) for t in values[target]]
        if not refs or any(not values[f] for f in spec.required_fields if f != target):
            skipped += 1
            continue
        fields = {name: "\n\n".join(v) for name, v in values.items() if name != target}
        fields[target] = refs[0]
        rows.append((fields, refs))
    if not rows:
        raise DataError(
            f"No usable rows in {table.origin}: every row has an empty "
            f"{' or '.join(repr(c) for f in spec.required_fields for c in mapping[f])}; check the mapping."
        )
    return rows, skipped


def _template_values(
    table: Table,
    task: str,
    target: str,
    mapping: dict[str, list[str]],
    params: dict,
    label_names: list[str] | None,
    rows: list[tuple[dict, list[str]]],
) -> tuple[dict, list[str]]:
    """The values a template may use beside the row's fields (the params; for classification the label
    set as ``options`` unless it is too large to list), and notes for the user."""
    extra: dict = dict(params)
    if task != "classification":
        return extra, []
    declared = [table.label_names[c] for c in mapping[target] if c in table.label_names]
    options = label_names or (declared[0] if declared else sorted({refs[0] for _, refs in rows}))
    if len(options) <= MAX_OPTIONS:
        extra["options"] = options
    notes = []
    if not label_names and options and all(str(o).lstrip("-").isdigit() for o in options):
        notes.append(
            f"The labels are numbers ({', '.join(map(str, options[:5]))}); give them names with "
            f"--param labels=NAME0,NAME1,... so the model learns words, not ids."
        )
    return extra, notes


def _template_pool(library: TemplateLibrary, task: str, template: str | None, available: set[str]) -> list[Template]:
    """The templates to render with (one, or the random pool), each checked against ``task`` and the fields."""
    if template in (None, "", "default"):
        pool = [library.default_for(task, available)]
    elif template == RANDOM:
        pool = library.random_pool(task, available)
        if not pool:
            raise TemplateError(f"No built-in {task} template works with the fields {', '.join(sorted(available))}.")
    else:
        pool = [library.get(template)]
    for t in pool:
        if t.task != task:
            raise TemplateError(
                f"Template '{t.name}' is for {t.task}, not {task}; pick one of: "
                f"{', '.join([RANDOM, *library.names(task)])}."
            )
        validate_template(t, available)
    return pool


def _render_examples(
    rows: list[tuple[dict, list[str]]],
    pool: list[Template],
    extra: dict,
    config: PrepareConfig,
    *,
    target: str,
    several: bool,
    inputs: list[str] | None,
    state: TaskState | None,
) -> tuple[list[dict], Counter]:
    """Each row rendered with one template of ``pool`` (chosen by ``config.seed``), and how often each was used."""
    rng = random.Random(config.seed)
    examples = []
    used: Counter = Counter()
    for index, (fields, refs) in enumerate(rows):
        t: Template = pool[0] if len(pool) == 1 else rng.choice(pool)
        examples.append(_render_example(t, fields, refs, extra, config.task, target, several, inputs))
        used[t.name] += 1
        if state is not None and index % 64 == 0:
            state.check_cancelled()
            state.report(index / len(rows), f"Rendering examples ({index}/{len(rows)})")
    return examples, used


def _render_example(
    t: Template,
    fields: dict,
    refs: list[str],
    extra: dict,
    task: str,
    target: str,
    several: bool,
    inputs: list[str] | None,
) -> dict:
    """One example; with ``several`` its references, with ``inputs`` its source input for the leakage check."""
    prompt, completion = render(t, {**extra, **fields})
    example = {"prompt": prompt, "completion": completion, "task": task, "template": t.name}
    if several:  # each reference as the completion template renders it
        example["references"] = [completion] + [render(t, {**extra, **fields, target: r})[1] for r in refs[1:]]
    if inputs is not None:  # the source input, for the leakage check (removed before saving)
        example[INPUT_KEY] = task + "\x1f" + "\x1f".join(fields[f] for f in inputs)
    return example


# ------------------------------------------------------------------------------------ prepare
def check_out_dir(out_dir: str | Path) -> Path:
    """Fail before any work if ``out_dir`` cannot hold a prepared dataset."""
    return check_replaceable(out_dir)


def _complete_sample_config(config: PrepareConfig) -> PrepareConfig:
    part = get_sample_task(config.source.partition(":")[2])
    task = config.task or part.task
    own = task == part.task
    mapping = config.mapping or (part.mapping if own else {})
    template = config.template or (part.template if own else None)
    return PrepareConfig(**{**asdict(config), "task": task, "mapping": mapping, "template": template})


def sample_components(config: PrepareConfig, library: TemplateLibrary | None = None) -> list[MixtureComponent]:
    """The built-in sample as mixture parts (only those of ``config.task`` when it is set).

    Each part uses its own mapping and template; ``config.template`` replaces the template of
    the parts of its task (``random``: of every part); ``config.mapping`` applies when a single
    part is chosen.
    """
    parts = [p for p in sample_tasks() if config.task in (None, p.task)]
    if not parts:
        raise DataError(
            f"The built-in sample has no {config.task} part; its tasks are: "
            f"{', '.join(sorted({p.task for p in sample_tasks()}))}."
        )
    chosen_task = None
    if config.template not in (None, "", RANDOM):
        chosen_task = (library or TemplateLibrary()).get(config.template).task
        if chosen_task not in {p.task for p in parts}:
            raise TemplateError(
                f"Template '{config.template}' is for {chosen_task}; the sample's parts are "
                f"{', '.join(f'{p.name} ({p.task})' for p in parts)}."
            )
    components = []
    for part in parts:
        template = config.template if config.template == RANDOM or part.task == chosen_task else part.template
        mapping = config.mapping if config.mapping and len(parts) == 1 else part.mapping
        part_config = PrepareConfig(
            **{
                **asdict(config),
                "source": f"sample:{part.name}",
                "task": part.task,
                "mapping": mapping,
                "template": template,
                "stratify": config.stratify or part.task == "classification",
            }
        )
        components.append(MixtureComponent(part_config, name=part.name))
    return components


def prepare(
    config: PrepareConfig,
    out_dir: str | Path,
    state: TaskState | None = None,
    library: TemplateLibrary | None = None,
    table: Table | None = None,
) -> PrepareResult:
    """Load, map, template, split, check and save ``config.source`` as an instruction dataset in ``out_dir``.

    ``table``: the source already loaded (the wizard has it); otherwise it is read from
    ``config.source``.
    """
    out_dir = check_out_dir(out_dir)
    if config.source == "sample":
        return prepare_mixture(
            sample_components(config, library),
            out_dir,
            val=config.val,
            test=config.test,
            seed=config.seed,
            state=state,
            library=library,
            source="sample",
            drop_leaks=config.drop_leakage,
            max_length=config.max_length,
        )
    if config.source.startswith("sample:"):
        config = _complete_sample_config(config)
    if not config.task:
        raise DataError(f"Choose a task with --task; the tasks are: {', '.join(TASKS)}.")
    get_task(config.task)
    if config.stratify and config.task != "classification":
        raise DataError("Stratified splits keep label proportions, so they need the classification task.")
    if table is None:
        table = load_source(config.source, split=config.source_split, limit=config.limit, state=state)
    report: dict = {}
    examples = build_examples(table, config, library, state, report)
    splits = split_examples(
        examples,
        val=config.val,
        test=config.test,
        seed=config.seed,
        stratify_key="completion" if config.stratify else None,
    )
    splits, leakage, removed = _check_leakage(splits, config.drop_leakage)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "created": now_iso(),
        "ift_desktop_version": app_version(),
        "source": config.source,
        "origin": report["origin"],
        "source_split": config.source_split,
        "task": config.task,
        "tasks": [config.task],
        "template": config.template or report_template(report),
        "templates_used": report["templates_used"],
        "mapping": report["mapping"],
        "params": dict(config.params),
        "seed": config.seed,
        "val": config.val,
        "test": config.test,
        "limit": config.limit,
        "stratify": config.stratify,
        "rows_read": report["rows_read"],
        "skipped_rows": report["skipped"],
        "leakage": leakage,
        "leakage_removed": removed,
        "references": any("references" in e for e in examples),
        "notes": report["notes"],
    }
    if "labels" in report:
        manifest["labels"] = report["labels"]
    if config.max_length:
        manifest["max_length"] = int(config.max_length)
    if state is not None:
        state.report(None, f"Writing {out_dir}")
    write_dataset(out_dir, splits, manifest)
    return PrepareResult(out_dir, {name: len(splits[name]) for name in SPLITS}, manifest, leakage)


def _check_leakage(splits: dict[str, list], drop: bool) -> tuple[dict[str, list], list[str], int]:
    """Report (or with ``drop`` remove) examples whose source input is also in an earlier split."""
    leakage = find_leakage(splits, key=INPUT_KEY)
    removed = 0
    if drop and leakage:
        splits, removed = drop_leakage(splits, key=INPUT_KEY)
        leakage = [f"Removed {removed} validation/test example(s) whose input is also in an earlier split."]
    for rows in splits.values():
        for row in rows:
            row.pop(INPUT_KEY, None)
    return splits, leakage, removed


def report_template(report: dict) -> str:
    used = report.get("templates_used") or {}
    return next(iter(used)) if len(used) == 1 else RANDOM


def prepare_mixture(
    components: list[MixtureComponent],
    out_dir: str | Path,
    *,
    val: float = 0.1,
    test: float = 0.1,
    seed: int = 42,
    total: int | None = None,
    state: TaskState | None = None,
    library: TemplateLibrary | None = None,
    source: str = "mixture",
    drop_leaks: bool = False,
    max_length: int | None = None,
) -> PrepareResult:
    """Combine several sources/tasks into one dataset with per-part caps or weights, then split and save.

    Each part keeps its share in every split (the split is stratified by part, and by label for
    classification parts asked to stratify).
    """
    out_dir = check_out_dir(out_dir)
    if not components:
        raise DataError("A mixture needs at least one part.")
    names = _part_names(components)
    built, reports = _build_parts(components, names, library or TemplateLibrary(), state)
    sizes = mixture_sizes(
        [len(e) for _, e in built], [c.cap for c in components], [c.weight for c in components], total
    )
    combined = _sample_parts(built, sizes, seed)
    splits = split_examples(combined, val=val, test=test, seed=seed, stratify_key="_part")
    part_counts = _count_parts(splits, names)
    splits, leakage, removed = _check_leakage(splits, drop_leaks)
    manifest = _mixture_manifest(built, reports, components, names, sizes, part_counts, splits)
    manifest.update(source=source, seed=seed, val=val, test=test, total=total, leakage=leakage, leakage_removed=removed)
    if max_length:
        manifest["max_length"] = int(max_length)
    if state is not None:
        state.report(None, f"Writing {out_dir}")
    write_dataset(out_dir, splits, manifest)
    return PrepareResult(out_dir, {name: len(splits[name]) for name in SPLITS}, manifest, leakage)


def _build_parts(components: list[MixtureComponent], names: list[str], library: TemplateLibrary, state):
    """Each part's (config, examples) and its build report, in order."""
    built, reports = [], []
    for number, component in enumerate(components):
        cfg = component.config
        if cfg.source.startswith("sample:"):
            cfg = _complete_sample_config(cfg)
        if state is not None:
            state.check_cancelled()
            state.report(number / len(components), f"Preparing part {names[number]}")
        if not cfg.task:
            raise DataError(f"Mixture part '{names[number]}' has no task; the tasks are: {', '.join(TASKS)}.")
        table = load_source(cfg.source, split=cfg.source_split, limit=cfg.limit, state=None)
        report: dict = {}
        built.append((cfg, build_examples(table, cfg, library, None, report)))
        reports.append(report)
    return built, reports


def _sample_parts(built: list, sizes: list[int], seed: int) -> list[dict]:
    """Each part's share, drawn with its own seed, tagged with its part (and label, to stratify by)."""
    combined = []
    for number, ((cfg, examples), size) in enumerate(zip(built, sizes)):
        chosen = random.Random(seed * 1009 + number).sample(examples, size)
        for example in chosen:
            key = f"{number}|{example['completion']}" if cfg.stratify else str(number)
            combined.append({**example, "_part": key})
    return combined


def _count_parts(splits: dict[str, list[dict]], names: list[str]) -> dict[str, dict[str, int]]:
    """Examples of each part in each split (the ``_part`` tags come off the rows)."""
    part_counts = {name: {s: 0 for s in SPLITS} for name in names}
    for split_name, rows in splits.items():
        for row in rows:
            part_counts[names[int(row.pop("_part").split("|", 1)[0])]][split_name] += 1
    return part_counts


def _mixture_manifest(built, reports, components, names, sizes, part_counts, splits) -> dict:
    """The manifest of a mixture: its tasks, templates and, per part, where it came from and what it gave."""
    tasks = list(dict.fromkeys(cfg.task for cfg, _ in built))
    return {
        "schema_version": SCHEMA_VERSION,
        "created": now_iso(),
        "ift_desktop_version": app_version(),
        "source": None,
        "task": tasks[0] if len(tasks) == 1 else "mixture",
        "tasks": tasks,
        "template": RANDOM if any(c.template == RANDOM for c, _ in built) else "default",
        "seed": None,
        "val": None,
        "test": None,
        "total": None,
        "leakage": None,
        "leakage_removed": None,
        "references": any("references" in e for rows in splits.values() for e in rows),
        "mapping": {names[i]: reports[i]["mapping"] for i in range(len(built))},
        "components": [
            {
                "name": names[i],
                "source": cfg.source,
                "origin": reports[i]["origin"],
                "task": cfg.task,
                "template": cfg.template or report_template(reports[i]),
                "templates_used": reports[i]["templates_used"],
                "mapping": reports[i]["mapping"],
                "params": dict(cfg.params),
                "available": len(examples),
                "cap": components[i].cap,
                "weight": components[i].weight,
                "used": sizes[i],
                "counts": part_counts[names[i]],
                "skipped_rows": reports[i]["skipped"],
                "notes": reports[i]["notes"],
            }
            for i, (cfg, examples) in enumerate(built)
        ],
    }


def _part_names(components: list[MixtureComponent]) -> list[str]:
    names: list[str] = []
    for component in components:
        base = component.name or _default_name(component.config.source)
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names


def _default_name(source: str) -> str:
    if source.startswith("sample:"):
        return source.partition(":")[2]
    if source.startswith("hf:"):
        return source[3:].replace("/", "_").replace(":", "_")
    return Path(source).stem or "part"
