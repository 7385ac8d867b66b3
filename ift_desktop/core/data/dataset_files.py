"""The prepared instruction dataset on disk: one folder, three JSON Lines splits and a manifest.

::

    DIR/train.jsonl        {"prompt", "completion", "task", "template", "references"?: [...]}
    DIR/validation.jsonl
    DIR/test.jsonl
    DIR/manifest.json      source, task(s), template, mapping, counts, seed, schema_version, created, ...

:func:`write_dataset` builds the folder beside the target and swaps it in whole
(:func:`ift_desktop.core.atomic.atomic_directory`), so an existing dataset is either replaced
entirely or left exactly as it was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..atomic import atomic_directory, atomic_write_json, atomic_write_jsonl
from ..errors import DataError

SPLITS = ("train", "validation", "test")
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"


OUR_FILES = frozenset({MANIFEST, *(f"{name}.jsonl" for name in SPLITS)})


def _is_our_manifest(path: Path) -> bool:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    if not isinstance(manifest, dict) or not isinstance(manifest.get("schema_version"), int):
        return False
    counts = manifest.get("counts")
    return isinstance(counts, dict) and set(SPLITS) <= set(counts) and "source" in manifest


def check_replaceable(out_dir: str | os.PathLike) -> Path:
    """Refuse ``out_dir`` unless it is missing, empty, or provably a dataset we wrote (our manifest's
    schema and nothing but our files): replacing a folder deletes everything in it."""
    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"{out_dir} exists and is a file; choose a folder for the prepared dataset.")
    if not out_dir.is_dir():
        return out_dir
    names = sorted(child.name for child in out_dir.iterdir())
    if not names:
        return out_dir
    foreign = [name for name in names if name not in OUR_FILES]
    if foreign or not _is_our_manifest(out_dir / MANIFEST):
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "") if foreign else f"its {MANIFEST}"
        raise DataError(
            f"{out_dir} is not a prepared dataset written by IFT Desktop ({shown} would be deleted); "
            "nothing was changed; choose a new or empty folder."
        )
    return out_dir


def write_dataset(out_dir: str | os.PathLike, splits: dict[str, list[dict]], manifest: dict) -> Path:
    """Write ``splits`` and ``manifest`` to ``out_dir`` atomically; returns the folder. An existing
    folder is replaced only when it is one of ours (:func:`check_replaceable`)."""
    out_dir = Path(out_dir).expanduser()
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown:
        raise DataError(f"Unknown split name(s) {', '.join(unknown)}; splits are {', '.join(SPLITS)}.")
    check_replaceable(out_dir)
    manifest = dict(manifest)
    manifest.setdefault("schema_version", SCHEMA_VERSION)
    manifest["counts"] = {name: len(splits.get(name, [])) for name in SPLITS}
    try:
        with atomic_directory(out_dir) as tmp:
            for name in SPLITS:
                atomic_write_jsonl(tmp / f"{name}.jsonl", splits.get(name, []))
            atomic_write_json(tmp / MANIFEST, manifest)
    except PermissionError:
        raise DataError(f"Cannot write to {out_dir.parent}: permission denied; choose another folder.") from None
    return out_dir


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise DataError(f"No prepared dataset at {folder}; run `ift-desktop prepare ... --out {folder}` first.")
    if not (folder / MANIFEST).exists():
        raise DataError(f"{folder} is not a prepared dataset (no {MANIFEST}); run `ift-desktop prepare` to make one.")


def read_manifest(folder: str | os.PathLike) -> dict:
    folder = Path(folder).expanduser()
    _check_folder(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(
            f"{folder / MANIFEST} is unreadable ({exc}); prepare the dataset again.".replace("\n", " ")
        ) from None
    if not isinstance(manifest, dict):
        raise DataError(f"{folder / MANIFEST} is not a JSON object; prepare the dataset again.")
    return manifest


def read_split(folder: str | os.PathLike, split: str) -> list[dict]:
    """The examples of ``split`` (``train``, ``validation`` or ``test``) in a prepared dataset."""
    folder = Path(folder).expanduser()
    if split not in SPLITS:
        raise DataError(f"Unknown split '{split}'; the splits are {', '.join(SPLITS)}.")
    _check_folder(folder)
    path = folder / f"{split}.jsonl"
    if not path.exists():
        raise DataError(f"{path} is missing; prepare the dataset again.")
    rows = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not valid UTF-8; prepare the dataset again.") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"Line {number} of {path} is not valid JSON ({exc.msg}); prepare the dataset again."
            ) from None
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("prompt"), str)
            or not isinstance(row.get("completion"), str)
        ):
            raise DataError(
                f"Line {number} of {path} lacks a text 'prompt' and 'completion'; prepare the dataset again."
            )
        rows.append(row)
    return rows


def references_of(example: dict) -> list[str]:
    """The reference texts of an example: its ``references`` when present, else its completion."""
    refs = example.get("references")
    if isinstance(refs, list) and refs:
        return [str(r) for r in refs]
    return [example["completion"]]
