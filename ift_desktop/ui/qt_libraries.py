"""Which system libraries Qt's X11 ("xcb") platform plugin is missing, and the apt-get line that adds them.

Qt aborts when it cannot load its platform plugin and names at most one missing library
(``xcb-cursor0``), while a fresh Debian desktop often lacks several (libxcb-icccm4,
libxcb-keysyms1, ...). ``ldd`` on PySide6's ``plugins/platforms/libqxcb.so`` lists every one of
them. This module imports no Qt, so it can run before a QApplication exists: the app calls it
before opening the window, and ``scripts/setup.sh`` runs it as

    python -m ift_desktop.ui.qt_libraries        # prints the missing packages, one per line
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Debian package names that the generic rule (see package_for) does not give
_PACKAGE_EXCEPTIONS = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libfreetype.so.6": "libfreetype6",
    "libfontconfig.so.1": "libfontconfig1",
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)


def xcb_plugin_path() -> Path | None:
    """PySide6's xcb platform plugin, found without importing Qt (None when PySide6 has none)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        for candidate in (
            Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so",
            Path(root) / "plugins" / "platforms" / "libqxcb.so",
        ):
            if candidate.is_file():
                return candidate
    return None


def run_ldd(path: Path) -> str:
    """``ldd``'s report for ``path`` ("" when ldd is not available)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    try:
        return subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def missing_libraries(ldd_output: str) -> list[str]:
    """The shared libraries ``ldd`` reports as "not found", each once, in its order."""
    seen: dict[str, None] = {}
    for name in _NOT_FOUND.findall(ldd_output):
        seen.setdefault(name, None)
    return list(seen)


def package_for(library: str) -> str:
    """The Debian/Ubuntu package that ships ``library`` (``libxcb-icccm.so.4`` → ``libxcb-icccm4``).

    Debian names a library package after its soname: the name lower-cased, followed by the major
    version, with a dash between them when the name itself ends in a digit (``libxkbcommon-x11.so.0``
    → ``libxkbcommon-x11-0``)."""
    if library in _PACKAGE_EXCEPTIONS:
        return _PACKAGE_EXCEPTIONS[library]
    match = re.match(r"^(lib[^/]+?)\.so\.(\d+)", library)
    if not match:
        return library
    name, major = match.group(1).lower(), match.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def apt_line(packages: list[str]) -> str:
    return "sudo apt-get install " + " ".join(packages)


def missing_xcb_packages(ldd=None) -> tuple[list[str], list[str]]:
    """``(libraries, packages)`` the xcb plugin lacks on this machine; empty when nothing is missing,
    when this is not Linux, or when PySide6 has no xcb plugin."""
    if not sys.platform.startswith("linux"):
        return [], []
    plugin = xcb_plugin_path()
    if plugin is None:
        return [], []
    libraries = missing_libraries((ldd or run_ldd)(plugin))
    packages = list(dict.fromkeys(package_for(library) for library in libraries))
    return libraries, packages


def qt_will_use_xcb(environ=os.environ) -> bool:
    """Whether Qt will pick the X11 plugin: asked for it, or not told and no Wayland session."""
    if not sys.platform.startswith("linux"):
        return False
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(";")[0].split(":")[0] == "xcb"
    return not environ.get("WAYLAND_DISPLAY")


def missing_libraries_message(libraries: list[str], packages: list[str]) -> str:
    return (
        "error: the window cannot open: Qt's X11 platform plugin (xcb) needs system libraries that are "
        f"missing: {', '.join(libraries)}. Install them with:\n    {apt_line(packages)}\n"
        "then start IFT Desktop again (or run scripts/setup.sh as root, which installs them)."
    )


def main() -> int:
    _libraries, packages = missing_xcb_packages()
    for package in packages:
        print(package)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
