"""The suites and runbooks that ship inside the package, and when the gate collects the suites.

A wheel installs this repository's `suites/` as `pytest_basb/suites` and `docs/runbooks/` as
`pytest_basb/runbooks` (see pyproject.toml); an editable install or a checkout finds them at the
repository root. Every folder under the suites is shipped: nothing here names a suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_basb.policy.catalogue import shipped_suites_dir

_PACKAGE = Path(__file__).resolve().parent.parent  # pytest_basb/


def _first_dir(*candidates: Path) -> Path | None:
    return next((path for path in candidates if path.is_dir()), None)


def suites_dir() -> Path | None:
    """The shipped suites: inside the installed package, else the checkout's `suites/`."""
    return shipped_suites_dir()


def shipped_runbooks_dir() -> Path | None:
    return _first_dir(_PACKAGE / "runbooks", _PACKAGE.parent / "docs" / "runbooks")


def runbooks_dir(rootpath: Path) -> Path | None:
    """The first runbook folder searched (the team's, else the shipped one)."""
    return next(iter(runbook_dirs(rootpath)), None)


def runbook_dirs(rootpath: Path) -> tuple[Path, ...]:
    """Where runbooks are looked up, in order: the team's `docs/runbooks` at the rootdir, then the
    shipped runbooks. A team's folder adds to the shipped runbooks, never replaces them: a check
    without a team runbook keeps its shipped one."""
    team = _first_dir(rootpath / "docs" / "runbooks")
    shipped = shipped_runbooks_dir()
    found: dict[Path, Path] = {}
    for folder in (team, shipped):
        if folder is not None:
            found.setdefault(folder.resolve(), folder)  # a checkout of this project: one folder, once
    return tuple(found.values())


def holds_the_suites(paths: list[Path], shipped: Path) -> bool:
    """One of `paths` holds its own copy of the shipped suites (a checkout of this project, or a copy
    of it): the same test file names. Then those are the suites; adding the shipped ones would collect
    every suite twice, and pytest cannot import two modules of one name."""
    names = {path.name for path in shipped.rglob("test_*.py")}
    return any(
        file.name in names
        for path in paths
        if path.is_dir() and path.resolve() != shipped.resolve()
        for file in path.rglob("test_*.py")
    )


def add_shipped_suites(config: pytest.Config) -> None:
    """With no test path on the command line, collect the shipped suites plus any `testpaths`.

    A path given on the command line is the user's choice and is left alone; so are `testpaths`
    that hold their own copy of the suites (this project's checkout) and `basb_shipped_suites = false`.
    """
    if config.args_source == pytest.Config.ArgsSource.ARGS or not _ini_bool(config, "basb_shipped_suites"):
        return
    shipped = suites_dir()
    own = config.args if config.args_source == pytest.Config.ArgsSource.TESTPATHS else []
    if shipped is None or holds_the_suites([Path(arg) for arg in own], shipped):
        return
    seen: set[Path] = set()
    args: list[str] = []
    for arg in [str(shipped), *own]:
        resolved = Path(arg).resolve()
        if resolved not in seen:
            seen.add(resolved)
            args.append(arg)
    config.args[:] = args


def _ini_bool(config: pytest.Config, name: str) -> bool:
    value = config.getini(name)
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("false", "no", "0", "off")
