"""pytest-basb hooks: options, configuration, test generation, result gathering, summary.

Loading this module imports nothing heavy: `mcp` is imported when the first check runs,
report writers when the session ends. Without an environment the plugin is inert.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

import pytest

from pytest_basb.model.mcp_data import ServiceError
from pytest_basb.model.results import RESULT_PROPERTY
from pytest_basb.parallel.prefetch import check_id_of, checks_of, services_to_prefetch
from pytest_basb.parallel.xdist_hooks import XdistHooks
from pytest_basb.run.evidence import attach_evidence, label_policy
from pytest_basb.run.finish import ResultCollector, finish_session
from pytest_basb.run.fixtures import (
    basb_declared_call,
    basb_environment,
    basb_flow,
    basb_monitoring,
    basb_service,
    basb_service_for_role,
    basb_vault,
)
from pytest_basb.run.generate import (
    SUITE_MARKERS,
    drills_not_asked,
    env_name,
    parametrize,
    parametrize_flows,
    suite_markers_only,
)
from pytest_basb.run.options import add_options, read_options
from pytest_basb.run.outcome import as_blocked_skip, result_for, role_unmatched, service_of
from pytest_basb.run.policy import turn_off
from pytest_basb.run.scope import chosen_by_markexpr
from pytest_basb.run.setup import launch_services, prepare_environment
from pytest_basb.run.state import HANDSHAKE_CHECK, STATE_KEY, BasbState

__all__ = [
    "basb_declared_call",
    "basb_environment",
    "basb_flow",
    "basb_monitoring",
    "basb_service",
    "basb_service_for_role",
    "basb_vault",
]

# The state of this process's run, for the Ctrl-C hook (which pytest calls without a config).
_active_state: BasbState | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """--basb-print-inventory: print the zero-config run's inventory and stop, before connecting."""
    if not config.getoption("basb_print_inventory", False):
        return None
    from pytest_basb.inventory.adhoc import AdhocError, adhoc_services, inventory_yaml

    try:
        services = adhoc_services(config.getoption("basb_url") or (), config.getoption("basb_command") or ())
    except AdhocError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not services:
        raise pytest.UsageError('--basb-print-inventory: name the servers: --basb-url=URL or --basb-command="CMD ARGS"')
    print(inventory_yaml(services, timeout_s=config.getoption("basb_timeout")), end="")
    return 0


def pytest_configure(config: pytest.Config) -> None:
    for name, text in SUITE_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    config.addinivalue_line("markers", "basb_check(id): the stable check id a test reports under")
    config.addinivalue_line("markers", "basb_role(role): run only against services with this BASB role")
    config.addinivalue_line(
        "markers", "basb_uses_roles(*roles): the test also reaches the services of these roles (scheduled alongside)"
    )

    state = BasbState(options=read_options(config))
    config.stash[STATE_KEY] = state
    if not state.options.env_name:
        return
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    from pytest_basb.run.shipped import add_shipped_suites

    add_shipped_suites(config)
    if state.options.adhoc and not config.option.markexpr:
        from pytest_basb.inventory.adhoc import ADHOC_SUITES

        config.option.markexpr = ADHOC_SUITES  # a first check of a server: health and smoke
    state.distributed = worker_input is None and getattr(config.option, "dist", "no") != "no"
    prepare_environment(state, worker_input)
    global _active_state
    _active_state = state
    state.controller = worker_input is None
    from pytest_basb.run.interrupt import install_second_interrupt

    state.restore_signals = install_second_interrupt(state)
    if worker_input is not None and state.run_dir is not None:
        from pytest_basb.targets.reaper import ProcessRegistry

        ProcessRegistry(state.run_dir).add_worker(os.getpid())
    from pytest_basb.run.scope import ScopeRecorder

    config.pluginmanager.register(ScopeRecorder(state), "basb-scope")
    if worker_input is None:
        config.pluginmanager.register(ResultCollector(state), "basb-results")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(state), "basb-xdist")


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[STATE_KEY].started_at = datetime.now(UTC)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Without xdist: launch the services the collected checks use, once, before they run."""
    if hasattr(session.config, "workerinput"):
        return
    state = session.config.stash[STATE_KEY]
    if state.active and not session.config.option.collectonly:  # --collect-only lists, never starts
        launch_services(state, {service_of(item) for item in session.items if item.get_closest_marker("basb_check")})


def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash.get(STATE_KEY, None)
    marker = item.get_closest_marker("basb_check")
    service_id = service_of(item)
    if state is None or not state.active or marker is None or service_id is None:
        return
    if not state.prefetched:
        from pytest_basb.connection.speculation import plans_from

        services = services_to_prefetch(item.session, item.config)
        state.handshake_here = {
            sid for i in item.session.items if (sid := service_of(i)) is not None and check_id_of(i) == HANDSHAKE_CHECK
        }
        plans = plans_from(checks_of(item.session.items, set(services)))
        if getattr(item.config, "workerinput", {}).get("basb_by_service"):
            # Some worker of this run owns (and publishes the tools of) each collected service.
            state.published_services = {sid for i in item.session.items if (sid := service_of(i)) is not None}
        state.prefetch(services, plans)
    from pytest_basb.run.allure_labels import allure_enabled, label_test

    if allure_enabled(item.config):
        label_test(item, check_id=str(marker.args[0]), service=service_id, environment=env_name(state))


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Ctrl-C: kill every server now and end the run; a second Ctrl-C ends it at once."""
    from pytest_basb.run.interrupt import on_interrupt

    on_interrupt(_active_state)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = metafunc.config.stash[STATE_KEY]
    wants_service = "basb_service" in metafunc.fixturenames
    wants_call = "basb_declared_call" in metafunc.fixturenames
    if "basb_flow" in metafunc.fixturenames:
        parametrize_flows(metafunc, state)
        return
    if not (wants_service or wants_call):
        return
    if suite_markers_only(metafunc.config) and not chosen_by_markexpr(metafunc.config, metafunc.definition):
        # -m drops this test: one item to deselect, instead of one per service to build and drop. Only
        # when -m names suite markers alone, which the suites set statically (a conftest may add others
        # to items later, which this early look would not see).
        name = "basb_declared_call" if wants_call else "basb_service"
        parametrize(metafunc, name, [], [], "not built per service: -m does not choose this test")
        return
    if wants_service and "basb_monitoring" in metafunc.fixturenames:
        environment = state.environment
        if environment is None or environment.monitoring is None:  # one visible skip, not one per service
            from pytest_basb.run.monitoring import NO_MONITORING

            parametrize(metafunc, "basb_service", [], [], NO_MONITORING)
            return
    services = list(state.environment.services) if state.environment else []
    role_marker = metafunc.definition.get_closest_marker("basb_role")
    if role_marker is not None:  # role suites test the BASB contract: a `role:` alone is a label
        from pytest_basb.inventory.load import BASB_CONTRACT

        services = [s for s in services if s.role == role_marker.args[0] and s.contract == BASB_CONTRACT]
    if wants_call:
        calls = [(s.id, i) for s in services for i, c in enumerate(s.smoke) if c.tool is not None]
        by_id = {s.id: s for s in services}
        ids = [f"{sid}:{by_id[sid].smoke[i].label}" for sid, i in calls]
        parametrize(metafunc, "basb_declared_call", calls, ids, "no service declares smoke tool calls")
    else:
        reason = "no service with role " + str(role_marker.args[0]) if role_marker else "no services"
        parametrize(metafunc, "basb_service", [s.id for s in services], [s.id for s in services], reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: pytest.TestReport = yield
    state = item.config.stash.get(STATE_KEY, None)
    if state is None or not state.active:
        return report
    as_blocked_skip(item, report, call)
    if not report.skipped and call.excinfo is not None and call.excinfo.errisinstance(ServiceError):
        report.longrepr = str(call.excinfo.value)
    if state.redactor and report.longrepr is not None:
        if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason); pytest needs the tuple
            path, line, reason = report.longrepr
            report.longrepr = (path, line, state.redactor.text(reason))
        else:
            report.longrepr = state.redactor.text(str(report.longrepr))
        report.sections = [(k, state.redactor.text(v)) for k, v in report.sections]
    result = result_for(item, report, call, state)
    if result is not None and report.when == "call" and report.failed:
        attach_evidence(item, state, result)
        if result.outcome in ("warn", "waived"):  # the policy or a waiver accepts this failure
            report.sections.append(("basb policy", str(report.longrepr)))
            report.outcome, report.longrepr = "passed", None
    if result is not None and report.when == "call":
        label_policy(item, result)
    if result is not None:
        # On the item too: junitxml writes the properties of the teardown report, made later.
        if ("basb_check", result.id) not in item.user_properties:
            item.user_properties.append(("basb_check", result.id))
        report.user_properties.append((RESULT_PROPERTY, result.to_json()))
    return report


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Role suites for roles this environment does not have are deselected, not skipped:
    an inventory without BASB roles runs the generic suites only, and one without flows no flow suite.
    `--basb-shard` deselects the services of other shards."""
    unmatched = [
        i for i in items if (i.get_closest_marker("basb_role") or i.get_closest_marker("flow")) and role_unmatched(i)
    ]
    unmatched += drills_not_asked(config, items)
    state = config.stash.get(STATE_KEY, None)
    if state is not None and state.active and state.options.shard is not None:
        from pytest_basb.inventory.sharding import shard_of

        index, total = state.options.shard
        elsewhere = [i for i in items if (sid := service_of(i)) is not None and shard_of(sid, total) != index]
        unmatched += elsewhere
        # No service's check is left here (what remains is tests that -m drops or that check no service).
        moved = {id(i) for i in elsewhere}
        state.shard_empty = bool(moved) and all(service_of(i) is None for i in items if id(i) not in moved)
    if unmatched:
        config.hook.pytest_deselected(items=unmatched)
        dropped = {id(i) for i in unmatched}
        items[:] = [i for i in items if id(i) not in dropped]
    if state is not None and state.active:
        turn_off(state, items)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """Mark the moment every test has run: a signal after it is handled without a KeyboardInterrupt."""
    try:
        return (yield)
    finally:
        state = session.config.stash.get(STATE_KEY, None)
        if state is not None:
            state.finishing = True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.active:
        return
    try:
        finish_session(session, state)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM while the reports are written: no half verdict
        from pytest_basb.run.interrupt import on_interrupt
        from pytest_basb.run.reports import write_interrupted_report

        on_interrupt(state)
        if not hasattr(config, "workerinput"):
            write_interrupted_report(state)
        session.exitstatus = pytest.ExitCode.INTERRUPTED
    finally:
        state.finished = True


# Bare `pytest` in a folder with no tests and no environment: how to start, in one line.
START_HINT = (
    'pytest-basb: no environment chosen. Check a server: pytest --basb-url=URL or --basb-command="CMD ARGS"; '
    "or an inventory's environment: pytest --basb-env=NAME"
)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is not None and not state.active and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        terminalreporter.write_line(START_HINT)
    if state is None or not state.terminal_lines:
        return
    terminalreporter.section("BASB quality gate")
    for line in state.terminal_lines:
        terminalreporter.write_line(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _active_state
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return
    state.close(fast=state.interrupted)  # idempotent: also reached after Ctrl-C
    state.restore_signals()
    if state.run_dir is not None and not hasattr(config, "workerinput"):
        from pytest_basb.targets.reaper import ProcessRegistry

        ProcessRegistry(state.run_dir).kill_groups()  # servers of a worker that died
        shutil.rmtree(state.run_dir, ignore_errors=True)
    _active_state = None
