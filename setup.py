"""Package list for setuptools (the rest of the metadata is in pyproject.toml).

The plugin's packages are found as usual; the suites (this repo's `suites/`, installed as
`pytest_basb.suites`) and runbooks (`docs/runbooks/`, as `pytest_basb.runbooks`) are listed folder
by folder, so a new suite or runbook folder ships with no change here.
"""

from __future__ import annotations

from setuptools import find_namespace_packages, setup


def _tree(package: str, folder: str) -> list[str]:
    """`package` mapped onto `folder`, and every folder below it as a subpackage."""
    return [package, *(f"{package}.{name}" for name in find_namespace_packages(folder, exclude=["*__pycache__*"]))]


SUITES = _tree("pytest_basb.suites", "suites")
RUNBOOKS = _tree("pytest_basb.runbooks", "docs/runbooks")

PLUGIN = find_namespace_packages(include=["pytest_basb", "pytest_basb.*"], exclude=["*__pycache__*"])

setup(packages=[*PLUGIN, *SUITES, *RUNBOOKS])
