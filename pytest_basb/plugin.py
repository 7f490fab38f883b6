"""pytest-basb hooks: options, configuration, test generation, result gathering, summary.

Loading this module imports nothing heavy: `mcp` is imported when the first check runs,
report writers when the session ends. Without an environment the plugin is inert.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

import pytest

from pytest_basb.model.mcp_data import ServiceError
from pytest_basb.model.results import RESULT_PROPERTY, CheckResult
from pytest_basb.run.fixtures import (
    basb_declared_call,
    basb_environment,
    basb_flow,
    basb_service,
    basb_service_for_role,
    basb_vault,
)
from pytest_basb.run.options import add_options, read_options
from pytest_basb.run.outcome import as_blocked_skip, result_for, role_unmatched, service_in_nodeid, service_of
from pytest_basb.run.policy import is_off, turn_off
from pytest_basb.run.scope import chosen_by_markexpr
from pytest_basb.run.setup import launch_services, prepare_environment
from pytest_basb.run.state import HANDSHAKE_CHECK, STATE_KEY, BasbState

__all__ = ["basb_declared_call", "basb_environment", "basb_flow", "basb_service", "basb_service_for_role", "basb_vault"]

# xdist modes under which pytest-basb schedules every check of a service on one worker.
BY_SERVICE_DISTS = ("load", "loadscope", "loadgroup")
# The state of this process's run, for the Ctrl-C hook (which pytest calls without a config).
_active_state: BasbState | None = None

SUITE_MARKERS = {
    "health": "health checks: the service is up and speaks MCP (quick liveness probe)",
    "smoke": "smoke checks: the core surface works (the CI gate runs -m smoke)",
    "regression": "regression checks: the surface and results match the committed baseline",
    "security": "security checks: auth, origin, TLS, tool poisoning, secrets",
    "monitoring": "monitoring checks: metrics endpoints serve Prometheus data (also run by -m smoke)",
    "flow": "declared flows across services (flows: in the inventory; smoke: true ones also run by -m smoke)",
}


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
        config.pluginmanager.register(_ResultCollector(state), "basb-results")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(state), "basb-xdist")


class _XdistHooks:
    """Registered only when xdist is present: hands workers what only the controller knows."""

    def __init__(self, state: BasbState) -> None:
        self.state = state

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["basb_run_dir"] = str(self.state.run_dir)
        node.workerinput["basb_run_date"] = self.state.run_date.isoformat()  # one date for every waiver
        # Workers see dist "no"; they must know whether ServiceScheduling splits the work (prefetch).
        node.workerinput["basb_by_service"] = node.config.getvalue("dist") in BY_SERVICE_DISTS
        if self.state.throwaway_vault is not None:
            node.workerinput["basb_vault"] = str(self.state.throwaway_vault)

    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        """A worker died inside a check: record it as an error, so the gate cannot miss it."""
        service = service_in_nodeid(crashitem)
        if service is None or not self.state.active:
            return
        result = CheckResult(
            id="worker.crash",
            service=service,
            outcome="error",
            message=f"the test process crashed while running {crashitem.split('::')[-1]}",
            environment=_env_name(self.state),
            nodeid=crashitem,
        )
        report.user_properties.append((RESULT_PROPERTY, result.to_json()))

    @pytest.hookimpl(tryfirst=True)  # before xdist tells the controller the collection is done
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Worker: publish which services cross-role tests keep together, for the controller's plan."""
        worker_input: dict[str, Any] = getattr(session.config, "workerinput", {})
        if not worker_input.get("basb_by_service") or not self.state.active or self.state.run_dir is None:
            return
        from pytest_basb.parallel.scheduling import publish_links

        self.state.links = links_of(session.items, self.state)
        publish_links(self.state.run_dir, self.state.links)

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Runs on the controller before any test is scheduled, so services are up in time.
        launch_services(self.state, {service_in_nodeid(nodeid) for nodeid in ids})

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        """Every check of one service on one worker: one session, one server process per service."""
        if config.getvalue("dist") not in BY_SERVICE_DISTS:
            return None  # `each`, `loadfile`, `worksteal` asked for explicitly: the user's choice
        from pytest_basb.parallel.scheduling import published_links
        from pytest_basb.parallel.xdist_scheduler import ServiceScheduling

        environment = self.state.environment
        run_dir = self.state.run_dir
        return ServiceScheduling(
            config,
            log,
            frozenset(s.id for s in environment.services) if environment else frozenset(),
            links=lambda: published_links(run_dir),
        )


def links_of(items: list[pytest.Item], state: BasbState) -> list[set[str]]:
    """Per cross-role test (`basb_uses_roles`): its service and the stdio services it reaches by role,
    picked as `basb_service_for_role` picks them (`Environment.first_of_role`)."""
    environment = state.environment
    links = []
    for item in items:
        marker = item.get_closest_marker("basb_uses_roles")
        service_id = service_of(item)
        if marker is None or service_id is None or environment is None:
            continue
        group = {service_id}
        for role in marker.args:
            used = environment.first_of_role(role)
            if used is not None and used.transport == "stdio":
                group.add(used.id)
        if len(group) > 1:
            links.append(group)
    return links + flow_links(items, state)


def flow_links(items: list[pytest.Item], state: BasbState) -> list[set[str]]:
    """Per collected flow: the services it calls share a worker (each stdio server started once)."""
    environment = state.environment
    names: set[str] = set()
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("basb_flow"):
            names.add(callspec.params["basb_flow"][1])
    flows = [environment.flow(name) for name in sorted(names)] if environment is not None else []
    return [set(flow.services) for flow in flows if len(flow.services) > 1]


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
            sid for i in item.session.items if (sid := service_of(i)) is not None and _check_id(i) == HANDSHAKE_CHECK
        }
        plans = plans_from(_checks_of(item.session.items, set(services)))
        if getattr(item.config, "workerinput", {}).get("basb_by_service"):
            # Some worker of this run owns (and publishes the tools of) each collected service.
            state.published_services = {sid for i in item.session.items if (sid := service_of(i)) is not None}
        state.prefetch(services, plans)
    from pytest_basb.run.allure_labels import allure_enabled, label_test

    if allure_enabled(item.config):
        label_test(item, check_id=str(marker.args[0]), service=service_id, environment=_env_name(state))


def _check_id(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("basb_check")
    return str(marker.args[0]) if marker else None


def services_to_prefetch(session: pytest.Session, config: pytest.Config) -> list[str]:
    """This process's share: every collected service, or under xdist the worker's part of the plan."""
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    if worker_input is None:
        return sorted({sid for item in session.items if (sid := service_of(item)) is not None})
    from pytest_basb.parallel.scheduling import services_of_worker, worker_index

    if not worker_input.get("basb_by_service"):
        return []  # another scheduler decides: open sessions as checks need them
    nodeids = [item.nodeid for item in session.items]
    state = config.stash[STATE_KEY]
    known = {s.id for s in state.environment.services} if state.environment else set()
    count, index = int(worker_input["workercount"]), worker_index(worker_input["workerid"])
    return services_of_worker(nodeids, count, index, known, state.links)


def _checks_of(items: list[pytest.Item], services: set[str]) -> list[tuple[str, str, int | None]]:
    """(service, check id, declared call index) of each collected check of these services."""
    found = []
    for item in items:
        marker = item.get_closest_marker("basb_check")
        service_id = service_of(item)
        if marker is None or service_id not in services or is_off(item):
            continue
        declared = getattr(item, "callspec", None) and item.callspec.params.get("basb_declared_call")  # type: ignore[attr-defined]
        found.append((str(service_id), str(marker.args[0]), declared[1] if declared else None))
    return found


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Ctrl-C: kill every server now and end the run; a second Ctrl-C ends it at once."""
    from pytest_basb.run.interrupt import on_interrupt

    on_interrupt(_active_state)


def _env_name(state: BasbState) -> str:
    return state.environment.name if state.environment else ""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = metafunc.config.stash[STATE_KEY]
    wants_service = "basb_service" in metafunc.fixturenames
    wants_call = "basb_declared_call" in metafunc.fixturenames
    if "basb_flow" in metafunc.fixturenames:
        _parametrize_flows(metafunc, state)
        return
    if not (wants_service or wants_call):
        return
    if _suite_markers_only(metafunc.config) and not chosen_by_markexpr(metafunc.config, metafunc.definition):
        # -m drops this test: one item to deselect, instead of one per service to build and drop. Only
        # when -m names suite markers alone, which the suites set statically (a conftest may add others
        # to items later, which this early look would not see).
        name = "basb_declared_call" if wants_call else "basb_service"
        _parametrize(metafunc, name, [], [], "not built per service: -m does not choose this test")
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
        _parametrize(metafunc, "basb_declared_call", calls, ids, "no service declares smoke tool calls")
    else:
        reason = "no service with role " + str(role_marker.args[0]) if role_marker else "no services"
        _parametrize(metafunc, "basb_service", [s.id for s in services], [s.id for s in services], reason)


def _parametrize_flows(metafunc: pytest.Metafunc, state: BasbState) -> None:
    """One test per declared flow, under its check id `flow.<name>`; `smoke: true` adds the smoke marker
    (so -m decides per flow, not by the test function's own markers)."""
    flows = state.environment.flows if state.environment else ()
    values = [
        pytest.param(
            (flow.home, flow.name),
            id=f"{flow.home}:{flow.name}",
            marks=[pytest.mark.basb_check(flow.check_id), *([pytest.mark.smoke] if flow.smoke else [])],
        )
        for flow in flows
    ]
    _parametrize(metafunc, "basb_flow", values, [], "this environment declares no flows")


def _suite_markers_only(config: pytest.Config) -> bool:
    names = set(re.findall(r"[A-Za-z_][\w.-]*", str(config.option.markexpr or ""))) - {"and", "or", "not"}
    return bool(names) and names <= SUITE_MARKERS.keys()


def _parametrize(metafunc: pytest.Metafunc, name: str, values: list[Any], ids: list[str], reason: str) -> None:
    if not values:
        # One visible skip with the reason beats pytest's anonymous "empty parameter set".
        values, ids = [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ["none"]
    metafunc.parametrize(name, values, ids=ids or None, indirect=True)


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
        _attach_evidence(item, state, result)
        if result.outcome in ("warn", "waived"):  # the policy or a waiver accepts this failure
            report.sections.append(("basb policy", str(report.longrepr)))
            report.outcome, report.longrepr = "passed", None
    if result is not None and report.when == "call":
        _label_policy(item, result)
    if result is not None:
        # On the item too: junitxml writes the properties of the teardown report, made later.
        if ("basb_check", result.id) not in item.user_properties:
            item.user_properties.append(("basb_check", result.id))
        report.user_properties.append((RESULT_PROPERTY, result.to_json()))
    return report


def _attach_evidence(item: pytest.Item, state: BasbState, result: CheckResult) -> None:
    from pytest_basb.run.allure_labels import allure_enabled, attach_exchange, attach_result

    if not allure_enabled(item.config):
        return
    attach_result(result)
    session = state.sessions.get(result.service)
    if session is not None:
        attach_exchange(session.transcript.as_json())


def _label_policy(item: pytest.Item, result: CheckResult) -> None:
    changed = result.waiver is not None or (result.policy or {}).get("level", "block") != "block"
    if not changed:
        return
    from pytest_basb.run.allure_labels import allure_enabled, label_policy

    if allure_enabled(item.config):
        label_policy(result)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Role suites for roles this environment does not have are deselected, not skipped:
    an inventory without BASB roles runs the generic suites only, and one without flows no flow suite.
    `--basb-shard` deselects the services of other shards."""
    unmatched = [
        i for i in items if (i.get_closest_marker("basb_role") or i.get_closest_marker("flow")) and role_unmatched(i)
    ]
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


class _ResultCollector:
    """Controller side: gathers results from reports, which arrive from every xdist worker."""

    def __init__(self, state: BasbState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == RESULT_PROPERTY:
                result = CheckResult.from_dict(json.loads(str(value)))
                self.state.results[result.nodeid] = result
                self.state.locations[result.nodeid] = report.location[0]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.active:
        return
    _close_or_interrupt(session, state)
    if hasattr(config, "workerinput"):
        return
    if state.interrupted:
        from pytest_basb.run.reports import write_interrupted_report

        write_interrupted_report(state)  # no verdict, no log entry: and no stale verdict left behind
        return
    if state.shard_empty and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        # A CI matrix job whose shard holds no service succeeded; its empty report still merges.
        session.exitstatus = pytest.ExitCode.OK
    from pytest_basb.run.scope import run_scope

    if config.option.collectonly or (not state.results and run_scope(state) is None):
        return
    stop = session.shouldfail or session.shouldstop
    state.stopped_early = stop if isinstance(stop, str) else "stopped early" if stop else None
    # A gate run that checked nothing still writes its report ("nothing was checked"): no stale verdict stays.
    from pytest_basb.run.reports import write_run_reports

    write_run_reports(state, config)
    if state.verdict == "fail" and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _close_or_interrupt(session: pytest.Session, state: BasbState) -> None:
    """Close the sessions; a Ctrl-C or SIGTERM during the close ends the run as interrupted (exit 2)."""
    try:
        state.close(fast=state.interrupted)
    except KeyboardInterrupt:
        from pytest_basb.run.interrupt import on_interrupt

        on_interrupt(state)
        session.exitstatus = pytest.ExitCode.INTERRUPTED


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
