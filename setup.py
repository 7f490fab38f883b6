"""Package list for setuptools (the rest of the metadata is in pyproject.toml).

The plugin's packages are found as usual; the suites (this repo's `suites/`, installed as
`pytest_basb.suites`) are listed folder by folder, so a new suite folder ships with no change here.
"""

from __future__ import annotations

from setuptools import find_namespace_packages, setup

SUITES = [
    "pytest_basb.suites",
    *(f"pytest_basb.suites.{name}" for name in find_namespace_packages("suites", exclude=["*__pycache__*"])),
]

PLUGIN = find_namespace_packages(include=["pytest_basb", "pytest_basb.*"], exclude=["*__pycache__*"])

setup(packages=[*PLUGIN, *SUITES, "pytest_basb.runbooks"])
