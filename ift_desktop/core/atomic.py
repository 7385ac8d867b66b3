"""Writes that never leave a half-written file or folder behind.

Files are written to a temporary sibling and renamed over the target; folders are built
in a temporary sibling and swapped in only when complete, so an existing dataset or run is
either replaced whole or left exactly as it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, obj, *, indent: int | None = 2) -> Path:
    return atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


def atomic_write_jsonl(path: str | os.PathLike, rows) -> Path:
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    return atomic_write_text(path, "".join(line + "\n" for line in lines))


def append_jsonl(path: str | os.PathLike, row) -> None:
    """Append one JSON line and flush it (for logs such as metrics.jsonl that grow live)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        handle.flush()


# ------------------------------------------------------------------------------- folder swaps
# Leftovers are named after the process that made them, so a later process can tell ours from the
# user's files and a dead process's from a live one's: ``.NAME.ift-PID-RANDOM.partial`` (being built,
# or the old folder after an exchange) and ``.NAME.ift-PID.old`` (the old folder set aside).
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.ift-(?P<pid>\d+)(?:-[^./]+\.partial|\.old)$")
_RENAME_EXCHANGE = 2  # linux/fs.h


def _swap_step(step: str) -> None:
    """Called between the steps of a swap; tests replace it to stop the process at that point."""


def _renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _renameat2()


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns False where the OS or file system cannot (the caller then renames in two steps)."""
    if _RENAMEAT2 is None:
        return False
    at_fdcwd = -100
    if _RENAMEAT2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's live process: not ours to judge
    return True


def recover_folder_swaps(parent: str | os.PathLike) -> list[str]:
    """Finish or undo the folder swaps that dead processes left half-done in ``parent``.

    An old folder set aside (``.NAME.ift-PID.old``) goes back to ``NAME`` when ``NAME`` is missing
    (the new one never arrived), and is deleted when ``NAME`` is there; a ``.partial`` folder of a dead
    process is deleted (it is either unfinished or the old folder after an exchange). Only names this
    module makes, of processes that are gone, are touched. Returns what was done, one line each."""
    parent = Path(parent)
    done: list[str] = []
    try:
        children = list(parent.iterdir())
    except OSError:
        return done
    for child in sorted(children, key=lambda c: c.name.endswith(".partial")):
        match = _LEFTOVER.match(child.name)
        if not match or not child.is_dir() or child.is_symlink() or _process_alive(int(match["pid"])):
            continue
        target = parent / match["name"]
        if child.name.endswith(".old") and not target.exists():
            os.replace(child, target)
            done.append(f"restored {target.name} from an interrupted replacement")
        else:
            shutil.rmtree(child, ignore_errors=True)
            done.append(f"removed the leftover {child.name}")
    return done


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces ``target`` whole.

    If the body raises, the temporary folder is removed and ``target`` is untouched. The swap is one
    atomic exchange where the OS has it; elsewhere the old folder is set aside first, and
    :func:`recover_folder_swaps` (run here and when the workspace opens) puts it back if the process
    died before the new one arrived.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_folder_swaps(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.ift-{os.getpid()}-", suffix=".partial", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap_step("built")
    if target.exists() and exchange_paths(tmp, target):
        _swap_step("exchanged")
        shutil.rmtree(tmp, ignore_errors=True)  # now the old folder
        return
    backup = None
    if target.exists():
        backup = target.with_name(f".{target.name}.ift-{os.getpid()}.old")
        if backup.exists():
            shutil.rmtree(backup, ignore_errors=True)
        os.replace(target, backup)
        _swap_step("old-set-aside")
    try:
        os.replace(tmp, target)
    except BaseException:
        if backup is not None:
            os.replace(backup, target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap_step("new-in-place")
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def read_jsonl_tolerant(path: str | os.PathLike) -> list[dict]:
    """Read a JSON-lines log written with :func:`append_jsonl`, keeping every readable row.

    A last line cut short by a crash mid-write, a line with bytes that are not UTF-8, or a line that
    is not a JSON object is skipped; the rest of the log is kept. An unreadable file reads as empty."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return []
    except OSError:
        return []
    return jsonl_rows(data)


def jsonl_rows(data: bytes) -> list[dict]:
    """The JSON objects of JSON-lines ``data``; lines that are not UTF-8, not JSON or not objects are skipped."""
    rows = []
    for raw in data.splitlines():
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            continue
        if not line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows
