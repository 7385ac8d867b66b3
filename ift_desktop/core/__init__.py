"""The headless core of IFT Desktop. Nothing under this package imports Qt or pyqtgraph
(tests/core/test_headless.py keeps it so): scripts, the CLI and the UI all call it."""
