"""The folder swap survives a kill at every step: a process killed between the steps (fault injection
through the swap's hook, then os._exit) leaves the old or the new folder, never none, and the next
process cleans up what is provably a dead process's leftover (never anything else)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ift_desktop.core import atomic
from ift_desktop.core.atomic import atomic_directory, recover_folder_swaps
from ift_desktop.core.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]

KILLER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from ift_desktop.core import atomic
    target, step, exchange = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
    if not exchange:
        atomic._RENAMEAT2 = None  # the two-rename path other systems take
    def die(reached):
        if reached == step:
            os._exit(9)  # as a kill -9 would: no cleanup, no finally
    atomic._swap_step = die
    with atomic.atomic_directory(target) as tmp:
        (tmp / "data.txt").write_text("new")
    """
)


def _kill_during_swap(target: Path, step: str, exchange: bool) -> int:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", KILLER, str(target), step, "1" if exchange else "0"], env=env)
    return done.returncode


def _old_folder(parent: Path) -> Path:
    target = parent / "dataset"
    target.mkdir(parents=True)
    (target / "data.txt").write_text("old")
    return target


@pytest.mark.parametrize(
    "exchange, step, expected",
    [
        (True, "built", "old"),
        (True, "exchanged", "new"),
        (False, "built", "old"),
        (False, "old-set-aside", "old"),  # the fault: the old folder renamed aside, the new one not yet in
        (False, "new-in-place", "new"),
    ],
)
def test_a_kill_between_the_steps_leaves_a_whole_folder(tmp_path, exchange, step, expected):
    if exchange and atomic._RENAMEAT2 is None:
        pytest.skip("no renameat2 on this system")
    target = _old_folder(tmp_path)
    assert _kill_during_swap(target, step, exchange) == 9
    recover_folder_swaps(tmp_path)
    assert (target / "data.txt").read_text() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]


def test_opening_the_workspace_restores_a_folder_a_kill_left_aside(tmp_path):
    workspace_root = tmp_path / "ws"
    target = _old_folder(workspace_root / "datasets")
    assert _kill_during_swap(target, "old-set-aside", exchange=False) == 9
    assert not target.exists()  # what the user would have seen before
    Workspace(workspace_root)
    assert (target / "data.txt").read_text() == "old"
    assert sorted(p.name for p in (workspace_root / "datasets").iterdir()) == ["dataset"]


def test_leftovers_of_live_processes_and_look_alikes_are_not_touched(tmp_path):
    mine = tmp_path / f".dataset.ift-{os.getpid()}-abc.partial"
    mine.mkdir()
    users = [tmp_path / ".dataset.partial", tmp_path / ".dataset.old-123", tmp_path / "dataset.ift-1.old"]
    for folder in users:
        folder.mkdir()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        theirs = tmp_path / f".dataset.ift-{live.pid}.old"
        theirs.mkdir()
        assert recover_folder_swaps(tmp_path) == []
        assert all(p.exists() for p in [mine, theirs, *users])
    finally:
        live.kill()
        live.wait()


def test_a_swap_still_replaces_and_keeps_the_old_folder_on_failure(tmp_path):
    target = _old_folder(tmp_path)
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "data.txt").write_text("half")
            raise RuntimeError("boom")
    assert (target / "data.txt").read_text() == "old"
    with atomic_directory(target) as tmp:
        (tmp / "data.txt").write_text("new")
    assert (target / "data.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]
