"""Packaging glue pyproject.toml cannot express: ship the top-level resources/ folder inside the wheel.

In a source checkout the templates, sample data, checks, icons and style sheet live in resources/ beside
ift_desktop/, packaging/ and tests/; an installed wheel carries them as ift_desktop/resources, where
ift_desktop.core.paths.resources_dir() finds them. Everything else is configured in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["ift_desktop", "ift_desktop.*"]), "ift_desktop.resources"],
    package_dir={"ift_desktop.resources": "resources"},
)
