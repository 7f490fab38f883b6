"""pytest-basb hooks: options, configuration, test generation, result gathering, summary.

Loading this module imports nothing heavy: `mcp` is imported when the first check runs,
report writers when the session ends. Without an environment the plugin is inert.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_basb.fixtures import (
    basb_declared_call,
    basb_environment,
    basb_service,
    basb_service_for_role,
    basb_vault,
)
from pytest_basb.mcp_data import ServiceError
from pytest_basb.redaction import Redactor
from pytest_basb.results import RESULT_PROPERTY, CheckResult
from pytest_basb.state import RESULT_KEY, STATE_KEY, BasbState, Options
from pytest_basb.targets import TARGETS

__all__ = ["basb_declared_call", "basb_environment", "basb_service", "basb_service_for_role", "basb_vault"]

SUITE_MARKERS = {
    "health": "health checks: the service is up and speaks MCP (quick liveness probe)",
    "smoke": "smoke checks: the core surface works (the CI gate runs -m smoke)",
    "regression": "regression checks: the surface and results match the committed baseline",
    "security": "security checks: auth, origin, TLS, tool poisoning, secrets",
}
VAULT_VARIABLE = "BASB_VAULT"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("basb", "BASB deployment gate (pytest-basb)")
    group.addoption(
        "--basb-env",
        dest="basb_env",
        metavar="NAME",
        help="Environment of the inventory to test; without one the plugin is inert",
    )
    group.addoption(
        "--basb-inventory",
        dest="basb_inventory",
        metavar="PATH",
        help="Inventory file (default: basb-inventory.yaml at the rootdir)",
    )
    group.addoption(
        "--basb-report-dir",
        dest="basb_report_dir",
        metavar="DIR",
        help="Where gate.json and gate.md are written (default: basb-report/)",
    )
    group.addoption(
        "--basb-vault",
        dest="basb_vault",
        metavar="DIR",
        help="Obsidian vault for the DevOps log, overriding the environment's vault",
    )
    group.addoption(
        "--basb-timeout",
        dest="basb_timeout",
        metavar="SECONDS",
        type=float,
        help="Deadline of every MCP request, overriding timeout_s of the inventory",
    )
    group.addoption(
        "--basb-target",
        dest="basb_target",
        choices=TARGETS,
        help="How services are reached: live, local (launch HTTP servers; default) or containers",
    )
    parser.addini("basb_env", "Default environment for --basb-env", default="")
    parser.addini("basb_inventory", "Default inventory path, relative to the rootdir", default="")
    parser.addini("basb_report_dir", "Default report directory, relative to the rootdir", default="")
    parser.addini("basb_target", "Default target: live, local or containers", default="local")


def pytest_configure(config: pytest.Config) -> None:
    for name, text in SUITE_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    config.addinivalue_line("markers", "basb_check(id): the stable check id a test reports under")
    config.addinivalue_line("markers", "basb_role(role): run only against services with this BASB role")

    state = BasbState(options=_options(config))
    config.stash[STATE_KEY] = state
    if not state.options.env_name:
        return
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    if state.options.target == "containers":
        raise pytest.UsageError("--basb-target=containers is not available yet; use --basb-target=local or live")
    from pytest_basb.inventory import InventoryError, seed_vault_of

    try:
        if worker_input is None:
            state.run_dir = Path(tempfile.mkdtemp(prefix="basb-run-"))
            seed = seed_vault_of(state.options.inventory, state.options.env_name)
            if seed is not None:  # copied first, so ${BASB_VAULT} resolves to the fresh copy
                state.throwaway_vault = _copy_seed_vault(seed, state.run_dir)
        else:
            state.run_dir = Path(worker_input["basb_run_dir"])
            if "basb_vault" in worker_input:
                state.throwaway_vault = Path(worker_input["basb_vault"])
        if state.throwaway_vault is not None:
            os.environ[VAULT_VARIABLE] = str(state.throwaway_vault)
        environment = _load(state.options)
    except InventoryError as exc:
        raise pytest.UsageError(str(exc)) from None
    state.environment = environment
    state.redactor = Redactor(environment.secrets)
    from pytest_basb.targets.live import endpoint_for

    state.endpoints = {s.id: endpoint_for(s) for s in environment.services}
    if worker_input is None:
        config.pluginmanager.register(_ResultCollector(state), "basb-results")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(state), "basb-xdist")


def _options(config: pytest.Config) -> Options:
    root = config.rootpath

    def path_option(name: str, default: str) -> Path:
        value = config.getoption(name) or config.getini(name) or default
        path = Path(value)
        return path if path.is_absolute() else root / path

    timeout = config.getoption("basb_timeout")
    if timeout is not None and timeout <= 0:
        raise pytest.UsageError("--basb-timeout: must be a positive number of seconds")
    vault = config.getoption("basb_vault")
    return Options(
        env_name=config.getoption("basb_env") or config.getini("basb_env") or None,
        inventory=path_option("basb_inventory", "basb-inventory.yaml"),
        report_dir=path_option("basb_report_dir", "basb-report"),
        vault=Path(vault).resolve() if vault else None,
        timeout_s=timeout,
        target=config.getoption("basb_target") or config.getini("basb_target") or "local",
    )


def _load(options: Options) -> Any:
    from pytest_basb.inventory import InventoryError, load_environment

    assert options.env_name is not None
    try:
        return load_environment(options.inventory, options.env_name)
    except InventoryError:
        raise
    except OSError as exc:
        raise InventoryError(f"{options.inventory}: cannot read the inventory: {exc.strerror}") from None


def _copy_seed_vault(seed: Path, run_dir: Path) -> Path:
    from pytest_basb.inventory import InventoryError

    if not seed.is_dir():
        raise InventoryError(f"seed_vault {seed} is not a directory; fix `seed_vault` in the inventory.")
    target = run_dir / seed.name
    shutil.copytree(seed, target)
    return target


class _XdistHooks:
    """Registered only when xdist is present: hands workers what only the controller knows."""

    def __init__(self, state: BasbState) -> None:
        self.state = state

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["basb_run_dir"] = str(self.state.run_dir)
        if self.state.throwaway_vault is not None:
            node.workerinput["basb_vault"] = str(self.state.throwaway_vault)

    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        """A worker died inside a check: record it as an error, so the gate cannot miss it."""
        service = _service_in_nodeid(crashitem)
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

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Runs on the controller before any test is scheduled, so services are up in time.
        _launch_services(self.state, {_service_in_nodeid(nodeid) for nodeid in ids})


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[STATE_KEY].started_at = datetime.now(UTC)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Without xdist: launch the services the collected checks use, once, before they run."""
    if hasattr(session.config, "workerinput"):
        return
    state = session.config.stash[STATE_KEY]
    if state.active:
        _launch_services(state, {_service_of(item) for item in session.items if item.get_closest_marker("basb_check")})


def _service_in_nodeid(nodeid: str) -> str | None:
    if not nodeid.endswith("]") or "[" not in nodeid:
        return None
    return nodeid[nodeid.rindex("[") + 1 : -1].split(":", 1)[0]


def _launch_services(state: BasbState, wanted: set[str | None]) -> None:
    """Start each `launch` service a collected check needs (controller only, once per run)."""
    if not state.active or state.options.target == "live":
        return
    assert state.environment is not None
    pending = [s for s in state.environment.services if s.launch and s.id in wanted and s.id not in state.launched]
    if not pending:
        return
    from pytest_basb.targets.local import Launcher

    if state.launcher is None:
        state.launcher = Launcher(state.redactor)
    state.launched.update(s.id for s in pending)
    errors = state.launcher.start(pending)
    state.launch_errors.update({sid: state.redactor.text(why) for sid, why in errors.items()})
    state.launch_ready_s.update(state.launcher.ready_s)
    state.publish_launch_errors()


def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash.get(STATE_KEY, None)
    marker = item.get_closest_marker("basb_check")
    service_id = _service_of(item)
    if state is None or not state.active or marker is None or service_id is None:
        return
    from pytest_basb.report.allure_labels import allure_enabled, label_test

    if allure_enabled(item.config):
        label_test(item, check_id=str(marker.args[0]), service=service_id, environment=_env_name(state))


def _env_name(state: BasbState) -> str:
    return state.environment.name if state.environment else ""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = metafunc.config.stash[STATE_KEY]
    wants_service = "basb_service" in metafunc.fixturenames
    wants_call = "basb_declared_call" in metafunc.fixturenames
    if not (wants_service or wants_call):
        return
    services = list(state.environment.services) if state.environment else []
    role_marker = metafunc.definition.get_closest_marker("basb_role")
    if role_marker is not None:
        services = [s for s in services if s.role == role_marker.args[0]]
    if wants_call:
        calls = [(s.id, i) for s in services for i, c in enumerate(s.smoke) if c.tool is not None]
        by_id = {s.id: s for s in services}
        ids = [f"{sid}:{by_id[sid].smoke[i].label}" for sid, i in calls]
        _parametrize(metafunc, "basb_declared_call", calls, ids, "no service declares smoke tool calls")
    else:
        reason = "no service with role " + str(role_marker.args[0]) if role_marker else "no services"
        _parametrize(metafunc, "basb_service", [s.id for s in services], [s.id for s in services], reason)


def _parametrize(metafunc: pytest.Metafunc, name: str, values: list[Any], ids: list[str], reason: str) -> None:
    if not values:
        # One visible skip with the reason beats pytest's anonymous "empty parameter set".
        values, ids = [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ["none"]
    metafunc.parametrize(name, values, ids=ids, indirect=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: pytest.TestReport = yield
    state = item.config.stash.get(STATE_KEY, None)
    if state is None or not state.active:
        return report
    if call.excinfo is not None and call.excinfo.errisinstance(ServiceError):
        report.longrepr = str(call.excinfo.value)
    if state.redactor and report.longrepr is not None:
        if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason); pytest needs the tuple
            path, line, reason = report.longrepr
            report.longrepr = (path, line, state.redactor.text(reason))
        else:
            report.longrepr = state.redactor.text(str(report.longrepr))
        report.sections = [(k, state.redactor.text(v)) for k, v in report.sections]
    result = _result_for(item, report, call, state)
    if result is not None and report.when == "call" and report.failed:
        _attach_evidence(item, state, result)
    if result is not None:
        # On the item too: junitxml writes the properties of the teardown report, made later.
        if ("basb_check", result.id) not in item.user_properties:
            item.user_properties.append(("basb_check", result.id))
        report.user_properties.append((RESULT_PROPERTY, result.to_json()))
    return report


def _attach_evidence(item: pytest.Item, state: BasbState, result: CheckResult) -> None:
    from pytest_basb.report.allure_labels import allure_enabled, attach_exchange, attach_result

    if not allure_enabled(item.config):
        return
    attach_result(result)
    session = state.sessions.get(result.service)
    if session is not None:
        attach_exchange(session.transcript.as_json())


def _result_for(
    item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo[None], state: BasbState
) -> CheckResult | None:
    marker = item.get_closest_marker("basb_check")
    service_id = _service_of(item)
    if marker is None or service_id is None:
        return None
    if report.when != "call" and report.passed:
        return None
    judged = item.stash.get(RESULT_KEY, None)
    if judged is not None and report.when == "call":
        return CheckResult.from_dict({**judged.to_dict(), "duration_s": round(report.duration, 4)})
    if report.skipped:
        outcome, message = "skip", _skip_reason(report)
    elif call.excinfo is not None and call.excinfo.errisinstance(ServiceError):
        outcome, message = "fail", str(call.excinfo.value)
    elif report.passed:
        outcome, message = "pass", None
    else:
        outcome = (
            "fail"
            if report.when == "call" and call.excinfo is not None and call.excinfo.errisinstance(AssertionError)
            else "error"
        )
        message = str(report.longrepr).strip().splitlines()[-1] if report.longrepr else report.outcome
    return CheckResult(
        id=str(marker.args[0]),
        service=service_id,
        outcome=outcome,  # type: ignore[arg-type]
        duration_s=round(report.duration, 4),
        message=state.redactor.text(message) if message else None,
        environment=state.environment.name if state.environment else "",
        nodeid=item.nodeid,
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Role suites for roles this environment does not have are deselected, not skipped:
    an inventory without BASB roles runs the generic suites only."""
    unmatched = [i for i in items if i.get_closest_marker("basb_role") and _role_unmatched(i)]
    if unmatched:
        config.hook.pytest_deselected(items=unmatched)
        dropped = {id(i) for i in unmatched}
        items[:] = [i for i in items if id(i) not in dropped]


def _role_unmatched(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("basb_service", "") is None


def _service_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    value = callspec.params.get("basb_service")
    if value is None and "basb_declared_call" in callspec.params:
        declared = callspec.params["basb_declared_call"]
        value = declared[0] if declared else None
    return str(value) if value is not None else None


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


class _ResultCollector:
    """Controller side: gathers results from reports, which arrive from every xdist worker."""

    def __init__(self, state: BasbState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == RESULT_PROPERTY:
                result = CheckResult.from_dict(json.loads(str(value)))
                self.state.results[result.nodeid] = result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.active:
        return
    if hasattr(config, "workerinput"):
        state.close()
        return
    state.close()
    if not state.results:
        return
    from pytest_basb.report.run import write_run_reports

    write_run_reports(state, config)
    if state.verdict == "fail" and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.terminal_lines:
        return
    terminalreporter.section("BASB quality gate")
    for line in state.terminal_lines:
        terminalreporter.write_line(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return
    state.close()  # idempotent: also reached after Ctrl-C, when sessionfinish may not have closed
    if state.run_dir is not None and not hasattr(config, "workerinput"):
        shutil.rmtree(state.run_dir, ignore_errors=True)
