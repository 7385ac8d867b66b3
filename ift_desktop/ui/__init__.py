"""The Qt layer of IFT Desktop: thin views over ``ift_desktop.core``."""

import sys


def _guard_none_refcount() -> None:
    """Work around a PySide6 6.12.0 binding bug on Python < 3.12 (pyproject pins PySide6 < 6.12;
    this only guards installs that got 6.12 anyway).

    Every call of a Qt method that returns ``void`` (``QLabel.setText``, ``QPainter.drawLine``, ...)
    drops one reference to ``None`` it never took (measured: -1000 per 1000 calls with 6.12.0, 0 with
    6.11.3). Python 3.12+ makes ``None`` immortal; on 3.11 live plots bring the count to zero within
    minutes and the process aborts with "Fatal Python error: none_dealloc". Raising ``None``'s count
    once by 2**40 makes it, in effect, immortal as on 3.12.
    """
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    try:
        from importlib.metadata import version

        pyside = version("PySide6-Essentials")
    except Exception:
        try:
            from importlib.metadata import version

            pyside = version("PySide6")
        except Exception:
            return
    if not pyside.startswith("6.12."):
        return
    import ctypes

    refcount = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt is the first field of PyObject
    if refcount.value < 2**40:
        refcount.value += 2**40


_guard_none_refcount()
