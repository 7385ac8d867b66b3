"""When Qt's X11 plugin cannot load, the app names every missing system library and the apt-get line."""

import pytest

from ift_desktop.ui import app, qt_libraries

LDD_FRESH_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f2)
"""


@pytest.mark.parametrize(
    "library, package",
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libxcb-image.so.0", "libxcb-image0"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libEGL.so.1", "libegl1"),
    ],
)
def test_debian_package_of_a_library(library, package):
    assert qt_libraries.package_for(library) == package


def test_missing_libraries_are_read_from_ldd_once_each():
    assert qt_libraries.missing_libraries(LDD_FRESH_DEBIAN) == [
        "libxcb-cursor.so.0",
        "libxcb-icccm.so.4",
        "libxcb-keysyms.so.1",
        "libxkbcommon-x11.so.0",
    ]


def test_the_real_plugin_is_found_and_checked():
    plugin = qt_libraries.xcb_plugin_path()
    assert plugin is not None and plugin.name == "libqxcb.so"
    assert "libxcb" in qt_libraries.run_ldd(plugin)  # ldd really reads it


def test_the_app_names_every_missing_library_instead_of_crashing(monkeypatch, capsys):
    """Simulates the plugin failure of a fresh Debian desktop: ldd reports four libraries missing."""
    monkeypatch.setattr(qt_libraries, "run_ldd", lambda _path: LDD_FRESH_DEBIAN)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(app, "create_app", lambda *a: pytest.fail("Qt must not be started: it would abort"))
    assert app.main() == 2
    err = capsys.readouterr().err
    for library in ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxkbcommon-x11.so.0"):
        assert library in err
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0" in err


@pytest.mark.parametrize(
    "environ, uses_xcb",
    [
        ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, False),
        ({"QT_QPA_PLATFORM": "xcb"}, True),
        ({"DISPLAY": ":0"}, True),
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, False),
    ],
)
def test_only_an_x11_start_is_checked(environ, uses_xcb):
    assert qt_libraries.qt_will_use_xcb(environ) is uses_xcb


def test_nothing_missing_means_no_message(monkeypatch):
    monkeypatch.setattr(qt_libraries, "run_ldd", lambda _path: "\tlibxcb.so.1 => /lib/libxcb.so.1 (0x1)\n")
    assert qt_libraries.missing_xcb_packages() == ([], [])
