"""Entry point of the PyInstaller bundle: the same `ift-desktop` command line (no arguments = the app)."""

import sys

from ift_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
