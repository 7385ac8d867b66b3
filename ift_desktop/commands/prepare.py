"""`ift-desktop prepare`: turn a dataset into an instruction dataset (train / validation / test).

Contract (DESIGN.md): ``--source SRC --task TASK [--template NAME] [--map FIELD=COLUMN ...]
[--val F] [--test F] [--seed N] [--limit N] --out DIR``. Extras: ``--param NAME=VALUE``
(languages, label names), ``--split`` (the source's split), ``--stratify``, ``--drop-leakage``,
and multi-task mixtures with ``--mixture FILE`` or ``--source sample`` plus ``--cap NAME=N`` /
``--weight NAME=W`` / ``--total N``. Prints a short summary on stdout.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ift_desktop.core.data.mixtures import read_mixture_file
from ift_desktop.core.data.prepare import (
    MixtureComponent,
    PrepareConfig,
    PrepareResult,
    prepare,
    prepare_mixture,
    sample_components,
)
from ift_desktop.core.data.tasks import TASKS, parse_mapping
from ift_desktop.core.data.templates import RANDOM, TemplateLibrary
from ift_desktop.core.errors import DataError

from .progress import TerminalProgress


def _size(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a number; give a fraction like 0.1 or a count like 50"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a finite number; give a fraction like 0.1 or a count like 50"
        )
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; give a fraction like 0.1 or a count like 50")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="a CSV/TSV/JSON/JSONL/Parquet file, hf:NAME[:CONFIG], sample or sample:NAME")
    parser.add_argument("--task", help=f"one of: {', '.join(TASKS)}")
    parser.add_argument(
        "--template", help=f"a template name (see --list-templates) or '{RANDOM}' (a phrasing per example)"
    )
    parser.add_argument(
        "--map",
        action="extend",
        nargs="+",
        default=[],
        metavar="FIELD=COLUMN",
        help="which column fills a task field; FIELD=C1,C2,C3 gives several references",
    )
    parser.add_argument(
        "--param",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="template parameters, e.g. source_lang=English, labels=negative,positive",
    )
    parser.add_argument(
        "--val", type=_size, default=0.1, help="validation size: a fraction (<1) or a count (default 0.1)"
    )
    parser.add_argument("--test", type=_size, default=0.1, help="test size: a fraction (<1) or a count (default 0.1)")
    parser.add_argument("--seed", type=int, default=42, help="seed for shuffling, splitting and random templates")
    parser.add_argument("--limit", type=int, help="read only the first N rows of the source (of each part)")
    parser.add_argument("--split", default="train", help="the split of a Hugging Face source (default train)")
    parser.add_argument(
        "--stratify", action="store_true", help="keep label proportions in every split (classification)"
    )
    parser.add_argument(
        "--drop-leakage",
        action="store_true",
        help="remove validation/test examples whose input also appears in an earlier split",
    )
    parser.add_argument("--mixture", metavar="FILE", help="a YAML file listing the parts of a multi-task mixture")
    parser.add_argument(
        "--cap", action="extend", nargs="+", default=[], metavar="PART=N", help="at most N examples from a mixture part"
    )
    parser.add_argument(
        "--weight",
        action="extend",
        nargs="+",
        default=[],
        metavar="PART=W",
        help="a mixture part's share (all parts or none)",
    )
    parser.add_argument("--total", type=int, help="total examples of a mixture")
    parser.add_argument(
        "--max-length",
        type=int,
        metavar="N",
        help="the token length to train with, kept in manifest.json (train uses it unless told otherwise)",
    )
    parser.add_argument("--list-templates", action="store_true", help="list the prompt templates and exit")
    parser.add_argument("--out", help="the folder to write (train/validation/test.jsonl + manifest.json)")


def _pairs(items: list[str], flag: str, kind) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise DataError(f"Cannot read {flag} '{item}'; write it as {flag} NAME=VALUE.")
        try:
            out[name.strip()] = kind(value.strip())
        except ValueError:
            raise DataError(f"{flag} {item}: '{value}' is not a {kind.__name__}.") from None
    return out


def _list_templates() -> int:
    library = TemplateLibrary()
    for task in TASKS:
        print(f"{task}:")
        for t in library.templates(task):
            mark = "" if t.builtin else " (yours)"
            print(f"  {t.name:24} {t.description}{mark}")
    print(f"(and '{RANDOM}': one of the task's built-in phrasings drawn per example)")
    return 0


def _components(args) -> list[MixtureComponent]:
    if args.mixture:
        spec = read_mixture_file(args.mixture)
        components = []
        for part in spec["parts"]:
            cfg = PrepareConfig(
                source=str(part["source"]),
                task=part.get("task"),
                template=part.get("template"),
                mapping=part["map"],
                params={k: str(v) for k, v in (part.get("params") or {}).items()},
                seed=args.seed,
                limit=part.get("limit", args.limit),
                stratify=bool(part.get("stratify", False)),
                source_split=str(part.get("split", "train")),
            )
            components.append(
                MixtureComponent(cfg, cap=part.get("cap"), weight=part.get("weight"), name=part.get("name"))
            )
        return components
    cfg = PrepareConfig(
        source="sample",
        task=args.task,
        template=args.template,
        val=args.val,
        test=args.test,
        seed=args.seed,
        limit=args.limit,
        stratify=args.stratify,
    )
    return sample_components(cfg)


def run(args: argparse.Namespace) -> int:
    if args.list_templates:
        return _list_templates()
    if not args.source and not args.mixture:
        raise DataError("Name a source with --source (a file, hf:NAME[:CONFIG] or sample) or a --mixture file.")
    if not args.out:
        raise DataError("Name the output folder with --out DIR.")
    if args.task and args.task not in TASKS:
        raise DataError(f"Unknown task '{args.task}'; the known tasks are: {', '.join(TASKS)}.")
    caps = _pairs(args.cap, "--cap", int)
    weights = _pairs(args.weight, "--weight", float)
    mixture = bool(args.mixture) or (args.source == "sample" and (caps or weights or args.total))
    if (caps or weights or args.total) and not mixture:
        raise DataError("--cap, --weight and --total apply to mixtures: use --source sample or --mixture FILE.")
    progress = TerminalProgress(lines_in_pipes=False)  # a pipe gets the summary only
    state = progress.state()
    if (args.source or "").startswith("hf:") or args.mixture:
        from datasets.utils.logging import disable_progress_bar

        disable_progress_bar()  # our own progress line (on a terminal) is enough; keep stderr for errors
    if mixture:
        components = _components(args)
        names = [c.name for c in components]
        for name in [*caps, *weights]:
            if name not in names:
                raise DataError(f"No mixture part named '{name}'; the parts are: {', '.join(str(n) for n in names)}.")
        for component in components:
            component.cap = caps.get(component.name, component.cap)
            component.weight = weights.get(component.name, component.weight)
        result = prepare_mixture(
            components,
            args.out,
            val=args.val,
            test=args.test,
            seed=args.seed,
            total=args.total,
            state=state,
            source=args.mixture or "sample",
            drop_leaks=args.drop_leakage,
            max_length=args.max_length,
        )
    else:
        config = PrepareConfig(
            source=args.source,
            task=args.task,
            template=args.template,
            mapping=parse_mapping(args.map),
            params=_pairs(args.param, "--param", str),
            val=args.val,
            test=args.test,
            seed=args.seed,
            limit=args.limit,
            stratify=args.stratify,
            source_split=args.split,
            drop_leakage=args.drop_leakage,
            max_length=args.max_length,
        )
        result = prepare(config, args.out, state=state)
    progress.clear()
    _print_summary(result)
    return 0


def _print_summary(result: PrepareResult) -> None:
    m = result.manifest
    c = result.counts
    total = sum(c.values())
    print(f"Prepared {total} examples ({', '.join(m['tasks'])}) from {m['source']}")
    for part in m.get("components", []):
        pc = part["counts"]
        print(
            f"  part {part['name']}: {part['used']} of {part['available']} ({part['task']}, template "
            f"{part['template']}): train {pc['train']}, validation {pc['validation']}, test {pc['test']}"
        )
    if "components" not in m:
        print(
            f"  template {m['template']}; mapping " + ", ".join(f"{k}={','.join(v)}" for k, v in m["mapping"].items())
        )
        if m.get("skipped_rows"):
            print(f"  skipped {m['skipped_rows']} row(s) with an empty field")
    print(f"  train {c['train']}, validation {c['validation']}, test {c['test']} (seed {m['seed']})")
    for line in result.leakage:
        print(f"  warning: {line}")
    notes = m.get("notes", []) + [n for part in m.get("components", []) for n in part.get("notes", [])]
    for line in notes:
        print(f"  note: {line}")
    print(f"  wrote {Path(result.out_dir)}/ (train.jsonl, validation.jsonl, test.jsonl, manifest.json)")
