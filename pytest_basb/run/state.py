"""Per-process plugin state, kept in `config.stash` (one per controller and per xdist worker)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_basb.inventory.redaction import Redactor

if TYPE_CHECKING:
    from pytest_basb.connection.client import Connection
    from pytest_basb.connection.runtime import McpRuntime
    from pytest_basb.connection.session import ServiceSession
    from pytest_basb.connection.speculation import ServicePlan, Speculation
    from pytest_basb.inventory.adhoc import AdhocService
    from pytest_basb.inventory.load import Environment, ServiceConfig
    from pytest_basb.model.results import CheckResult
    from pytest_basb.ops.ci_status import CiStatus
    from pytest_basb.report.gate import Scope
    from pytest_basb.targets.base import Endpoint
    from pytest_basb.targets.containers import ContainerLauncher
    from pytest_basb.targets.local import Launcher


@dataclass(frozen=True)
class Options:
    env_name: str | None
    inventory: Path
    report_dir: Path
    vault: Path | None
    timeout_s: float | None
    target: str
    baseline_dir: Path | None = None  # None: `baselines/` beside the inventory
    record_baseline: bool = False
    record_skip: frozenset[str] = frozenset()  # --basb-record-skip: baseline parts kept as they were
    repeat: int = 5
    ci_status: CiStatus | None = None  # --basb-ci-status, read and checked at configure time
    pushgateway: str | None = None  # --basb-pushgateway URL
    shard: tuple[int, int] | None = None  # (K, N) of --basb-shard
    log: str = "auto"  # --basb-log: auto (full runs only), always, never
    # Zero-config run: --basb-url / --basb-command (environment `adhoc`, no inventory file)
    urls: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    workdir: Path | None = None  # where pytest started: stdio commands of a zero-config run run there

    @property
    def adhoc(self) -> bool:
        return bool(self.urls or self.commands)


@dataclass
class BasbState:
    options: Options
    environment: Environment | None = None
    redactor: Redactor = field(default_factory=Redactor)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    # Controller-made temporary folder shared with workers: vault copy, launch errors.
    run_dir: Path | None = None
    throwaway_vault: Path | None = None
    launched: set[str] = field(default_factory=set)
    launch_ready_s: dict[str, float] = field(default_factory=dict)  # seconds until it answered MCP
    launch_facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # launched server: url, pid
    launcher: Launcher | None = None
    containers: ContainerLauncher | None = None  # --basb-target=containers, controller only
    # service id -> why its `launch` failed; its checks fail with this instead of connecting.
    launch_errors: dict[str, str] = field(default_factory=dict)
    _launch_errors_read: bool = False
    runtime: McpRuntime | None = None
    sessions: dict[str, ServiceSession] = field(default_factory=dict)
    prefetched: bool = False
    shard_empty: bool = False  # --basb-shard left this run no service
    published_services: set[str] = field(default_factory=set)  # tools published by the worker owning them
    links: list[set[str]] = field(default_factory=list)  # services kept on one worker (scheduling.py)
    interrupted: bool = False  # Ctrl-C: close without grace, write no verdict
    finishing: bool = False  # every test has run: the session's end (close, reports) is under way
    finished: bool = False  # the session's end is done (reports written, servers stopped)
    controller: bool = True  # False in an xdist worker
    distributed: bool = False  # xdist workers run the checks (the controller runs none itself)
    # A zero-config run's sessions opened to ask the servers' names, kept for its checks: one start each.
    adopted: dict[str, Connection] = field(default_factory=dict)
    restore_signals: Callable[[], None] = field(default=lambda: None)  # undo the Ctrl-C handler
    # Controller only: every check result, keyed by nodeid (xdist interleaves reports).
    results: dict[str, CheckResult] = field(default_factory=dict)
    report_paths: list[Path] = field(default_factory=list)
    started_at: datetime | None = None
    run_date: date = field(default_factory=lambda: datetime.now(UTC).date())  # waivers are judged on it
    verdict: str | None = None
    scope: Scope | None = None  # what this run set out to check and checked (scope.py)
    terminal_lines: list[str] = field(default_factory=list)
    adhoc_services: list[AdhocService] = field(default_factory=list)  # a zero-config run's, as named
    # Services whose health.handshake runs in this process: it reports their unreachability.
    handshake_here: set[str] = field(default_factory=set)
    locations: dict[str, str] = field(default_factory=dict)  # nodeid -> its file, relative to the rootdir
    stopped_early: str | None = None  # "stopping after 1 failures": -x / --maxfail ended the run
    blamed: dict[str, str] = field(default_factory=dict)  # service -> the check that reported its failed launch
    monitoring_answers: dict[str, Any] = field(default_factory=dict)  # API path -> answer, read once per process

    @property
    def active(self) -> bool:
        return self.environment is not None

    def timeout_for(self, service_id: str) -> float:
        assert self.environment is not None
        if self.options.timeout_s is not None:
            return self.options.timeout_s
        return self.environment.service(service_id).timeout_s

    def session(self, service_id: str, check: str | None = None) -> ServiceSession:
        """The one session of this process to `service_id`, opened on first use; `check` is the check
        asking (a failed launch is reported by one check, the others are blocked by it)."""
        if not self._launch_errors_read:  # the controller publishes them before any test runs
            self.launch_errors.update(self._published_launch_errors())
            self._launch_errors_read = True
        if service_id in self.launch_errors:
            raise self._launch_failure(service_id, check)
        if service_id not in self.sessions:
            from pytest_basb.connection.session import ServiceSession
            from pytest_basb.connection.wire import Transcript  # `mcp` is imported only once a check runs

            runtime = self.mcp_runtime()
            connection = self.adopted.pop(service_id, None)
            if connection is not None:  # already open: its endpoint now carries the final service id
                connection.endpoint = self.endpoints[service_id]
            else:
                connection = runtime.connection(
                    self.endpoints[service_id],
                    timeout_s=self.timeout_for(service_id),
                    transcript=Transcript(self.redactor),
                )
            session = ServiceSession(runtime, connection)
            session.cause_check = HANDSHAKE_CHECK if service_id in self.handshake_here else None
            self.sessions[service_id] = session
        return self.sessions[service_id]

    def _launch_failure(self, service_id: str, check: str | None) -> Exception:
        from pytest_basb.connection.session import blocked
        from pytest_basb.model.mcp_data import ServiceError

        error = ServiceError(self.launch_errors[service_id], kind="connect")
        if check is None:  # asked on behalf of another service's check: not this service's report
            return error
        cause = HANDSHAKE_CHECK if service_id in self.handshake_here else check
        blamed = self.blamed.setdefault(service_id, cause)
        return error if blamed == check else blocked(blamed, error)

    def mcp_runtime(self) -> McpRuntime:
        if self.runtime is None:
            from pytest_basb.connection.runtime import McpRuntime
            from pytest_basb.targets.reaper import ProcessRegistry

            self.runtime = McpRuntime(ProcessRegistry(self.run_dir) if self.run_dir is not None else None)
        return self.runtime

    def prefetch(self, service_ids: Iterable[str], plans: Mapping[str, ServicePlan] | None = None) -> None:
        """Open the sessions of these services at once, fetch their listings and send ahead the
        requests their collected checks will make (`plans`), all services concurrently."""
        if self.prefetched:
            return
        self.prefetched = True
        from pytest_basb.model.mcp_data import ServiceError

        assert self.environment is not None
        wanted = []
        for service_id in sorted(set(service_ids)):
            try:
                connection = self.session(service_id).connection
            except ServiceError as exc:  # its launch failed: its checks say so without a connection
                if self.run_dir is not None and not self.controller:
                    from pytest_basb.connection import shared_listings

                    shared_listings.publish(self.run_dir, service_id, None, str(exc).splitlines()[0])
                continue
            plan = (plans or {}).get(service_id)
            if plan is not None:
                config = self.environment.service(service_id)
                connection.speculate = functools.partial(_speculations, plan, config)
            wanted.append(connection)
        self.mcp_runtime().open_all(wanted, prefetch=True)
        if self.run_dir is not None and not self.controller:
            self._publish_tools(connection.endpoint.service_id for connection in wanted)

    def _publish_tools(self, service_ids: Iterable[str]) -> None:
        """Let the other workers read these services' tools instead of opening sessions of their own."""
        from pytest_basb.connection import shared_listings
        from pytest_basb.model.mcp_data import ServiceError

        assert self.run_dir is not None
        for service_id in service_ids:
            session = self.sessions[service_id]
            try:
                tools = session.tools() if "tools" in session.handshake().capabilities else []
            except ServiceError as exc:
                shared_listings.publish(self.run_dir, service_id, None, str(exc).splitlines()[0])
            else:
                shared_listings.publish(self.run_dir, service_id, tools)

    def tools_of(self, service_id: str) -> list[dict[str, Any]]:
        """Another service's tools: from this process's session, else as its worker published them."""
        from pytest_basb.model.mcp_data import ServiceError

        if service_id not in self.sessions and service_id in self.published_services and self.run_dir is not None:
            from pytest_basb.connection import shared_listings

            published = shared_listings.wait_for(self.run_dir, service_id, self.timeout_for(service_id))
            if published is not None:
                if published["error"] is not None:
                    raise ServiceError(published["error"], kind="connect")
                tools: list[dict[str, Any]] = published["tools"]
                return tools
        session = self.session(service_id)
        return session.tools() if "tools" in session.handshake().capabilities else []

    def publish_launch_errors(self) -> None:
        """Controller: let workers know which launches failed (they fail those checks with it)."""
        if self.run_dir is not None and self.launch_errors:
            (self.run_dir / LAUNCH_ERRORS).write_text(json.dumps(self.launch_errors))

    def _published_launch_errors(self) -> dict[str, str]:
        if self.run_dir is None or not (self.run_dir / LAUNCH_ERRORS).exists():
            return {}
        errors: dict[str, str] = json.loads((self.run_dir / LAUNCH_ERRORS).read_text())
        return errors

    def close(self, *, fast: bool = False) -> None:
        """Close sessions (in parallel) and stop launched servers; `fast` after Ctrl-C: kill at once."""
        if self.runtime is not None:
            self.runtime.close(fast=fast)
            self.runtime = None
            if not fast:
                from pytest_basb.run.exit_output import publish

                publish(self, self.sessions)  # what servers printed on their way out, judged by the controller
        from pytest_basb.connection import http_probe

        http_probe.close()
        self.sessions.clear()
        if self.launcher is not None:
            self.launcher.stop(grace_s=0.0 if fast else None)
            self.launcher = None
        if self.containers is not None:
            self.containers.stop()  # idempotent; kept for the facts the reports record


def _speculations(
    plan: ServicePlan, config: ServiceConfig, era: str, listings: dict[str, list[dict[str, Any]]]
) -> list[Speculation]:
    return plan.speculations(config, era=era, listings=listings)


LAUNCH_ERRORS = "launch-errors.json"
HANDSHAKE_CHECK = "health.handshake"
STATE_KEY = pytest.StashKey[BasbState]()
RESULT_KEY = pytest.StashKey["CheckResult"]()
