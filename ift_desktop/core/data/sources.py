"""Loading a source dataset into a :class:`Table` of records.

A source spec is one of:

- a file path: ``.csv``, ``.tsv``, ``.json`` (an array of records, ``{"data": [...]}``-style
  records, or columns as lists), ``.jsonl`` / ``.ndjson``, ``.parquet``;
- ``hf:NAME[:CONFIG]``: :func:`datasets.load_dataset` (the Hub, or a local dataset script or data
  folder), or a local folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``;
- ``sample`` / ``sample:NAME``: the built-in sample shipped in ``resources/sample``.

Every problem a user can cause (a missing file, a binary or non-UTF-8 file, a malformed line, no
rows) raises :class:`DataError` with one line saying what, where and what to do next.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import DataError
from ..hub_errors import hub_failure
from ..paths import resources_dir
from ..progress import TaskState

FILE_KINDS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_RECORD_KEYS = ("data", "rows", "records", "examples", "items", "train")


@dataclass
class Table:
    records: list[dict]
    columns: list[str]
    origin: str
    label_names: dict[str, list[str]] = field(default_factory=dict)  # column → class names (HF ClassLabel)

    def __len__(self) -> int:
        return len(self.records)

    def preview(self, n: int = 5) -> list[dict]:
        return self.records[:n]


@dataclass
class SampleTask:
    name: str
    task: str
    file: Path
    mapping: dict[str, list[str]] = field(default_factory=dict)
    description: str = ""
    template: str | None = None  # the part's own template; None = the task's default


def _columns_of(records: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        for key in record:
            seen.setdefault(key, None)
    return list(seen)


def _table(records: list[dict], origin: str, columns: list[str] | None = None) -> Table:
    if not records:
        raise DataError(f"{origin} has no rows; pick a file or split that contains data.")
    return Table(records, columns or _columns_of(records), origin)


# ---------------------------------------------------------------------------------- samples
def sample_dir() -> Path:
    return resources_dir() / "sample"


def sample_tasks() -> list[SampleTask]:
    path = sample_dir() / "sample.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tasks = []
    for entry in data.get("tasks", []):
        mapping = {k: [v] if isinstance(v, str) else list(v) for k, v in (entry.get("mapping") or {}).items()}
        tasks.append(
            SampleTask(
                entry["name"],
                entry["task"],
                sample_dir() / entry["file"],
                mapping,
                entry.get("description", ""),
                entry.get("template"),
            )
        )
    return tasks


def get_sample_task(name: str) -> SampleTask:
    tasks = sample_tasks()
    for t in tasks:
        if t.name == name:
            return t
    raise DataError(f"The built-in sample has no part '{name}'; its parts are: {', '.join(t.name for t in tasks)}.")


# ------------------------------------------------------------------------------------ files
def _read_text(path: Path, state: TaskState | None) -> str:
    if state:
        state.report(None, f"Reading {path.name}")
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise DataError(f"Cannot read {path}: permission denied; check the file's permissions.") from None
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if b"\x00" in raw[:8192]:
        raise DataError(f"{path} looks like a binary file, not text; give a CSV, TSV, JSON, JSONL or Parquet file.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path} is not valid UTF-8 (byte {exc.start}, line {line}); save it as UTF-8 and try again."
        ) from None


def _read_delimited(path: Path, delimiter: str, limit: int | None, state) -> Table:
    text = _read_text(path, state)
    # TSV files (GLUE and most NLP corpora) do not quote fields: a literal " is text.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise DataError(f"{path} is empty; it needs a header line with column names, then rows.")
        header = [h.strip() for h in header]
        duplicates = sorted({h for h in header if header.count(h) > 1})
        if duplicates:
            raise DataError(f"{path} has duplicate column names in its header: {', '.join(duplicates)}; rename them.")
        records = []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise DataError(
                    f"Line {reader.line_num} of {path} has {len(row)} fields but the header has {len(header)} "
                    f"({', '.join(header)}); fix that line or its quoting."
                )
            records.append(dict(zip(header, row)))
            if limit is not None and len(records) >= limit:
                break
            if state is not None and len(records) % 2000 == 0:
                state.check_cancelled()
                state.report(None, f"Reading {path.name} (row {len(records)})")
    except csv.Error as exc:
        raise DataError(
            f"Line {reader.line_num} of {path} is not valid {'TSV' if delimiter == chr(9) else 'CSV'}: {exc}."
        ) from None
    return _table(records, str(path), header)


def _read_jsonl(path: Path, limit: int | None, state) -> Table:
    text = _read_text(path, state)
    records = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if state is not None and number % 2000 == 0:
            state.check_cancelled()
            state.report(number / len(lines), f"Reading {path.name} (line {number})")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"Line {number} of {path} is not valid JSON ({exc.msg} at column {exc.colno}); fix or remove that line."
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f"Line {number} of {path} is a JSON {type(record).__name__}, not an object of column: value pairs."
            )
        records.append(record)
        if limit is not None and len(records) >= limit:
            break
    return _table(records, str(path))


def _records_from_json(data, path: Path) -> list[dict]:
    if isinstance(data, dict):
        lists = {k: v for k, v in data.items() if isinstance(v, list)}
        for key in _RECORD_KEYS:
            if isinstance(data.get(key), list):
                return _records_from_json(data[key], path)
        if len(lists) == 1 and all(isinstance(x, dict) for x in next(iter(lists.values()))):
            return next(iter(lists.values()))
        if lists and len(lists) == len(data) and len({len(v) for v in lists.values()}) == 1:
            columns = list(lists)  # column-oriented: {"text": [...], "label": [...]}
            return [dict(zip(columns, values)) for values in zip(*lists.values())]
        raise DataError(
            f"{path} holds a JSON object, but no list of records in it; expected an array of objects "
            f'or {{"data": [...]}}.'
        )
    if isinstance(data, list):
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise DataError(f"Item {index} of the array in {path} is a JSON {type(item).__name__}, not an object.")
        return data
    raise DataError(f"{path} holds a single JSON {type(data).__name__}; expected an array of objects.")


def _read_json(path: Path, limit: int | None, state) -> Table:
    text = _read_text(path, state)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several objects, one per line: JSON Lines named .json
            return _read_jsonl(path, limit, state)
        raise DataError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); fix the file."
        ) from None
    records = _records_from_json(data, path)
    return _table(records[:limit] if limit is not None else records, str(path))


def _read_parquet(path: Path, limit: int | None, state) -> Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if state:
        state.report(None, f"Reading {path.name}")
    try:
        parquet = pq.ParquetFile(path)
        columns = parquet.schema_arrow.names
        records: list[dict] = []
        for batch in parquet.iter_batches(batch_size=4096):
            records.extend(batch.to_pylist())
            if state:
                state.check_cancelled()
            if limit is not None and len(records) >= limit:
                records = records[:limit]
                break
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"Cannot read {path} as Parquet: {str(exc).splitlines()[0]}; is it a Parquet file?") from None
    return _table(records, str(path), columns)


def _load_file(path: Path, limit: int | None, state, split: str = "train") -> Table:
    if not path.exists():
        raise DataError(f"File not found: {path}; check the path.")
    if path.is_dir():
        if (path / "dataset_dict.json").exists() or (path / "state.json").exists():
            return _load_hf(str(path), None, split, limit, state)
        raise DataError(f"{path} is a folder; give a data file (CSV, TSV, JSON, JSONL, Parquet) or hf:FOLDER.")
    kind = FILE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"Cannot tell the format of {path} from its extension '{path.suffix}'; "
            "use .csv, .tsv, .json, .jsonl or .parquet."
        )
    if kind in ("csv", "tsv"):
        return _read_delimited(path, "," if kind == "csv" else "\t", limit, state)
    if kind == "jsonl":
        return _read_jsonl(path, limit, state)
    if kind == "json":
        return _read_json(path, limit, state)
    return _read_parquet(path, limit, state)


# ------------------------------------------------------------------------ Hugging Face datasets
def _label_names(dataset) -> dict[str, list[str]]:
    names = {}
    for column, feature in getattr(dataset, "features", {}).items():
        if type(feature).__name__ == "ClassLabel":
            names[column] = list(feature.names)
    return names


def _load_hf(name: str, config: str | None, split: str, limit: int | None, state) -> Table:
    import datasets

    origin = f"hf:{name}{':' + config if config else ''} (split {split})"
    if state:
        state.report(None, f"Loading {origin}")
    local = Path(name).expanduser()
    try:
        if local.is_dir() and ((local / "dataset_dict.json").exists() or (local / "state.json").exists()):
            loaded = datasets.load_from_disk(str(local))
            if isinstance(loaded, datasets.DatasetDict):
                if split not in loaded:
                    raise DataError(f"{origin} has no split '{split}'; its splits are: {', '.join(loaded)}.")
                loaded = loaded[split]
            dataset = loaded.select(range(min(limit, len(loaded)))) if limit is not None else loaded
        else:
            wanted = f"{split}[:{limit}]" if limit is not None else split
            dataset = datasets.load_dataset(name, config, split=wanted)
    except DataError:
        raise
    except (FileNotFoundError, ConnectionError) as exc:
        raise DataError(
            f"Could not load {origin}: {hub_failure(exc)}; "
            "check the dataset name, or that you are online for Hub datasets."
        ) from None
    except ValueError as exc:
        raise DataError(f"Could not load {origin}: {str(exc).splitlines()[0]}.") from None
    except Exception as exc:  # datasets raises many private types (DatasetNotFoundError, ...)
        raise DataError(f"Could not load {origin}: {hub_failure(exc)}.") from None
    labels = _label_names(dataset)
    records = dataset.to_list()
    for column, names in labels.items():  # ClassLabel ids → their names ("positive", not 1)
        for record in records:
            value = record.get(column)
            if isinstance(value, int) and 0 <= value < len(names):
                record[column] = names[value]
    table = _table(records, origin, list(dataset.column_names))
    table.label_names = labels
    return table


def parse_hf_spec(rest: str) -> tuple[str, str | None]:
    """``NAME[:CONFIG]`` → (name, config); a local path containing ':' stays whole."""
    if Path(rest).expanduser().exists() or ":" not in rest:
        return rest, None
    name, _, config = rest.rpartition(":")
    return name, config or None


# ------------------------------------------------------------------------------------- entry
def load_source(spec: str, *, split: str = "train", limit: int | None = None, state: TaskState | None = None) -> Table:
    """Load ``spec`` (a file path, ``hf:NAME[:CONFIG]``, ``sample`` or ``sample:NAME``) as a Table.

    ``split`` applies to Hugging Face datasets; ``limit`` keeps the first N rows. ``sample``
    alone loads the sample's first part (``prepare`` mixes all of them).
    """
    spec = str(spec).strip()
    if limit is not None and limit < 1:
        raise DataError(f"--limit must be at least 1 (got {limit}).")
    if not spec:
        raise DataError("No source given; name a file, hf:NAME[:CONFIG] or sample.")
    if spec == "sample" or spec.startswith("sample:"):
        name = spec.partition(":")[2]
        part = get_sample_task(name) if name else sample_tasks()[0]
        table = _load_file(part.file, limit, state)
        table.origin = f"sample:{part.name}"
        return table
    if spec.startswith("hf:"):
        name, config = parse_hf_spec(spec[3:])
        if not name:
            raise DataError("hf: needs a dataset name, e.g. hf:knkarthick/dialogsum or hf:glue:sst2.")
        return _load_hf(name, config, split, limit, state)
    return _load_file(Path(spec).expanduser(), limit, state, split)
