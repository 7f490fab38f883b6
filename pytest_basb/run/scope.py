"""What a run set out to check and what it checked: the facts behind `PASS (partial: ...)`.

The suites chosen with -m define the run (`-m smoke` is a full smoke run); -k, --deselect,
--basb-shard, --last-failed or a test path narrower than the suites make it partial. The process
that collects (the controller without xdist, every worker with it) records the facts; a worker
writes them to the run folder, where the controller reads them at session end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_basb.model.files import publish_json
from pytest_basb.report.gate import Scope, count_services, ordered_suites, suite_of
from pytest_basb.run.outcome import environment_wide_subject, service_of
from pytest_basb.run.state import BasbState

SCOPE_FILE = "scope.json"
_Check = tuple[str, str]  # (service id, check id) of one collected check


class ScopeRecorder:
    """Registered by the plugin: sees the items before any deselection, then the final ones."""

    def __init__(self, state: BasbState) -> None:
        self.state = state
        self.intended: list[_Check] | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if not any(item.get_closest_marker("basb_check") for item in items):
            return  # no suite was collected (e.g. this project's self-tests): no gate run, no scope
        chosen = _mark_filter(config)
        from pytest_basb.run.generate import drills_not_asked

        unasked = {id(item) for item in drills_not_asked(config, items)}  # never part of a run's scope
        self.intended = [
            check
            for item in items
            if (check := _check_of(item, self.state)) is not None and chosen(item) and id(item) not in unasked
        ]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.intended is None or not self.state.active:
            return
        selected = [check for item in session.items if (check := _check_of(item, self.state)) is not None]
        scope = scope_of(session.config, self.state, self.intended, selected)
        if hasattr(session.config, "workerinput"):
            if self.state.run_dir is not None:  # every worker collects the same: any one of them will do
                publish_json(self.state.run_dir / SCOPE_FILE, scope.to_dict())
        else:
            self.state.scope = scope


def run_scope(state: BasbState) -> Scope | None:
    """Controller, at session end: the scope it recorded, or the one a worker published.

    None when the run collected no check at all: it was no gate run, and writes no report.
    """
    if state.scope is not None:
        return state.scope
    if state.run_dir is not None and (state.run_dir / SCOPE_FILE).is_file():
        return Scope.from_dict(json.loads((state.run_dir / SCOPE_FILE).read_text()))
    return None


def scope_of(config: pytest.Config, state: BasbState, intended: Sequence[_Check], selected: Sequence[_Check]) -> Scope:
    narrower = narrower_paths(config)
    reasons = [f"test path {arg}" for arg in narrower]
    dropped = len(intended) - len(selected)
    if dropped > 0:
        reasons += _deselection_reasons(config, state) or [f"{dropped} checks deselected"]
    inventory_services = len(state.environment.services) if state.environment is not None else 0
    return Scope(
        suites=ordered_suites({suite_of(check) for _, check in intended}),
        services_checked=count_services(service for service, _ in selected),
        services_total=inventory_services if narrower else count_services(service for service, _ in intended),
        checks_selected=len(selected),
        checks_total=None if narrower else len(intended),
        reasons=tuple(reasons),
    )


def _deselection_reasons(config: pytest.Config, state: BasbState) -> list[str]:
    reasons = []
    if config.option.keyword:
        reasons.append(f"-k {config.option.keyword}")
    if getattr(config.option, "deselect", None):
        reasons.append(f"--deselect ({len(config.option.deselect)} given)")
    if state.options.shard is not None:
        reasons.append(f"--basb-shard {state.options.shard[0]}/{state.options.shard[1]}")
    if getattr(config.option, "lf", False):
        reasons.append("--last-failed")
    return reasons


def narrower_paths(config: pytest.Config) -> list[str]:
    """Command-line test paths that hold less than a whole suite folder (a file, a test, a suite)."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return []
    roots = suite_roots(config)
    narrower = []
    for arg in config.args:
        path = Path(arg.split("::", 1)[0])
        path = (path if path.is_absolute() else config.invocation_params.dir / path).resolve()
        if "::" in arg or not any(root == path or path in root.parents for root in roots):
            narrower.append(arg)
    return narrower


def suite_roots(config: pytest.Config) -> list[Path]:
    from pytest_basb.run.shipped import suites_dir

    shipped = suites_dir()
    testpaths = [config.rootpath / p for p in config.getini("testpaths")]
    return [p.resolve() for p in [*([shipped] if shipped else []), *testpaths]]


def _check_of(item: pytest.Item, state: BasbState) -> _Check | None:
    marker = item.get_closest_marker("basb_check")
    service = service_of(item) or environment_wide_subject(item, state)
    return (service, str(marker.args[0])) if marker is not None and service is not None else None


def _mark_filter(config: pytest.Config) -> Callable[[pytest.Item], bool]:
    """The -m expression as pytest evaluates it (pytest's own matcher; a private but long-stable API)."""
    cached = config.stash.get(_MARK_FILTER, None)
    if cached is not None:
        return cached
    expression: Any = config.option.markexpr
    if not expression:
        chosen: Callable[[pytest.Item], bool] = lambda _item: True  # noqa: E731
    else:
        try:  # pytest has no public way to evaluate -m before the tests exist (docs/architecture.md)
            from _pytest.mark import MarkMatcher
            from _pytest.mark.expression import Expression
        except ImportError:  # a pytest that moved them: build every test, pytest deselects them itself
            chosen = lambda _item: True  # noqa: E731
        else:
            compiled = Expression.compile(expression)
            chosen = lambda item: compiled.evaluate(MarkMatcher.from_markers(item.iter_markers()))  # noqa: E731
    config.stash[_MARK_FILTER] = chosen
    return chosen


def chosen_by_markexpr(config: pytest.Config, node: pytest.Item) -> bool:
    """Whether -m keeps this test (its own and its module's markers); a bad expression is pytest's to report."""
    try:
        return _mark_filter(config)(node)
    except Exception:  # pytest reports a bad -m itself, with its own message
        return True


_MARK_FILTER = pytest.StashKey[Callable[[pytest.Item], bool]]()
