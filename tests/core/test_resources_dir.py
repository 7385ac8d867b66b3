"""resources/ sits beside ift_desktop/ in the checkout, and the source tree, the wheel and the bundle all find it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ift_desktop.core import paths

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.relative_to(REPO / "resources").as_posix() for p in (REPO / "resources").rglob("*") if p.is_file())


def test_the_checkout_keeps_resources_beside_the_package():
    assert (REPO / "resources" / "templates" / "summarization.yaml").is_file()
    assert not (REPO / "ift_desktop" / "resources").exists()
    assert paths.resources_dir() == REPO / "resources"
    assert {
        "templates/summarization.yaml",
        "sample/sample.yaml",
        "checks/README.md",
        "icons/ift-desktop.png",
        "style.qss",
        "metric_lab_presets.yaml",
    } <= set(SHIPPED)


def test_a_pyinstaller_bundle_finds_its_unpacked_resources(tmp_path, monkeypatch):
    (tmp_path / "resources" / "templates").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resources_dir() == tmp_path / "resources"


def test_the_bundle_recipe_puts_resources_where_resources_dir_looks():
    spec = (REPO / "packaging" / "ift-desktop.spec").read_text(encoding="utf-8")
    assert '(str(ROOT / "resources"), "resources")' in spec


def test_no_copy_found_says_to_reinstall(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "_resources_candidates", lambda: [tmp_path / "nowhere"])
    with pytest.raises(FileNotFoundError, match="reinstall IFT Desktop"):
        paths.resources_dir()


def test_the_wheel_ships_the_resources_and_the_installed_package_finds_them(tmp_path):
    """Build the wheel as `pip wheel --no-deps .` does, install it by unpacking (what pip does for a pure
    wheel), and ask the installed package where its resources are, from outside the checkout."""
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info beside the sources
    for name in ("ift_desktop", "resources"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, source / name)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("ift_desktop-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {f"ift_desktop/resources/{name}" for name in SHIPPED} <= names
        assert not any(name.startswith(("resources/", "tests/")) for name in names)
        archive.extractall(tmp_path / "site")
    found = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); from ift_desktop.core.paths import resources_dir; "
            "print(resources_dir())",
            str(tmp_path / "site"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    installed = Path(found.stdout.strip())
    assert installed == tmp_path / "site" / "ift_desktop" / "resources"
    assert (installed / "templates" / "summarization.yaml").is_file()
