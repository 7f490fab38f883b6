"""Drills: rehearse an incident on one service and record how long detection and recovery took.

A drill (check `drill.<mode>`, marker `drill`, only when `-m drill` asks) on an environment marked
`drills: allowed`:
1. steady state: the gate's session to the service answers a listing (and, with Alertmanager, no alert
   fires for the service: an earlier alert would be timed as this drill's);
2. the fault: `stopped` (SIGTERM / docker stop), `hung` (SIGSTOP / docker pause), `crashed`
   (SIGKILL / docker kill) on the very server the gate's session talks to;
3. detection: the gate polls (a fresh handshake over HTTP, its own session over stdio, each bounded
   by `_POLL_BOUND_S`) until it fails: detected_s;
4. alert: with `monitoring.alertmanager_url`, until Alertmanager has a firing alert labelled
   service="<id>": alerted_s;
5. recovery as the runbook says (relaunch, docker start/unpause), a new gate session, and steady
   state again: recovered_s.
Times are seconds from the fault. Every stage is bounded; a service that does not recover is left
blocked for the rest of the run (its later checks say `blocked by drill.<mode>`), never hanging.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_basb.model.drills import LEDGER, DrillRecord
from pytest_basb.model.files import append_line
from pytest_basb.model.results import CheckResult, skipped, violated
from pytest_basb.run.state import BasbState
from pytest_basb.targets.base import TargetError

if TYPE_CHECKING:
    from pytest_basb.inventory.load import ServiceConfig

SIGNALS = {"stopped": signal.SIGTERM, "hung": signal.SIGSTOP, "crashed": signal.SIGKILL}
_POLL_BOUND_S = 2.0  # one detection probe: a healthy local server answers far sooner
_POLL_PAUSE_S = 0.1
ALERT_POLL_S = 1.0


def refusal(state: BasbState) -> str | None:
    """Why drills may not run here (None: they may)."""
    environment = state.environment
    assert environment is not None
    if not environment.drills_allowed:
        return (
            f"drills refused: environment {environment.name} is not marked `drills: allowed` "
            f"(environments.{environment.name}.drills in {environment.source}); add it only where services "
            "may be stopped, hung and crashed on purpose"
        )
    if state.options.target == "live":
        return "drills refused: --basb-target=live reaches servers the gate did not start; use local or containers"
    if not state.controller:
        return "drills run in the controller, which holds the servers: run -m drill without -n (xdist)"
    return None


def run_drill(state: BasbState, service: ServiceConfig, mode: str, runbook: Path | None) -> CheckResult:
    check_id = f"drill.{mode}"
    why = refusal(state)
    if why is not None:
        return skipped(check_id, service.id, why)
    drill = _Drill(state, service, mode)
    record = drill.run(runbook)
    _append(state, record)
    evidence = asdict(record)
    if record.outcome == "pass":
        return CheckResult(id=check_id, service=service.id, outcome="pass", evidence=evidence)
    return violated(check_id, service.id, f"{mode} drill failed: {record.why}", evidence=evidence)


class _Drill:
    def __init__(self, state: BasbState, service: ServiceConfig, mode: str) -> None:
        self.state = state
        self.service = service
        self.mode = mode
        self.check_id = f"drill.{mode}"
        self.timeout_s = state.timeout_for(service.id)
        self.stdio = state.endpoints[service.id].transport == "stdio" and state.options.target == "local"
        self.fault_at = 0.0
        self.stopping: threading.Thread | None = None  # a `docker stop` still under way

    def run(self, runbook: Path | None) -> DrillRecord:
        started = datetime.now(UTC)
        times: dict[str, float | None] = {"detected_s": None, "alerted_s": None, "recovered_s": None}
        failures: list[str] = []
        alert_url = _alertmanager_url(self.state)
        steady = self._steady()
        if steady is None and alert_url is not None and not self._quiet(alert_url):
            steady = f"an alert for service={self.service.id} is firing in {alert_url} before the fault"
        if steady is not None:
            failures.append(f"no steady state before the fault: {steady}")
        else:
            try:
                self._inject()
            except TargetError as exc:
                failures.append(f"fault not injected: {exc}")
                if self._steady() is not None:  # half injected (docker stop timed out): bring it back
                    self.fault_at = self.fault_at or time.monotonic()
                    recovery = self._recover()
                    if recovery is not None:
                        failures.append(f"not recovered: {recovery}")
                        self._leave_blocked(recovery)
            else:
                times["detected_s"] = self._detect()
                if times["detected_s"] is None:
                    failures.append(f"the gate did not detect the fault within {self.timeout_s:g} s")
                if alert_url is not None:
                    times["alerted_s"] = self._alerted(alert_url)
                    if times["alerted_s"] is None:
                        failures.append(f"no firing alert with service={self.service.id} in {alert_url}")
                recovery = self._recover()
                if recovery is None:
                    times["recovered_s"] = self._since_fault()
                else:
                    failures.append(f"not recovered: {recovery}")
                    self._leave_blocked(recovery)
        return DrillRecord(
            service=self.service.id,
            mode=self.mode,
            started=started.isoformat(timespec="seconds"),
            runbook=str(runbook) if runbook is not None else "",
            outcome="fail" if failures else "pass",
            environment=self.state.environment.name if self.state.environment else "",
            why="; ".join(self.state.redactor.text(f) for f in failures),
            **times,
        )

    # -- stages ---------------------------------------------------------------------------------

    def _steady(self) -> str | None:
        """The gate's own session answers (opened now if it was not)."""
        from pytest_basb.connection.drill_probe import answers
        from pytest_basb.model.mcp_data import ServiceError

        try:
            session = self.state.session(self.service.id)
            session.handshake()
        except ServiceError as exc:
            return str(exc).splitlines()[0]
        return answers(session.connection, self.timeout_s)

    def _inject(self) -> None:
        state = self.state
        if state.options.target == "containers":
            from pytest_basb.targets.container_faults import inject

            assert state.containers is not None
            self.fault_at = time.monotonic()
            self.stopping = inject(state.containers, self.service.id, self.mode)
        elif self.stdio:
            from pytest_basb.targets.reaper import kill_group

            process = state.session(self.service.id).connection.process
            if process is None:
                raise TargetError(f"{self.service.id}: the gate's session has no server process")
            self.fault_at = time.monotonic()
            kill_group(process.pid, SIGNALS[self.mode])
        else:
            if state.launcher is None:
                raise TargetError(f"{self.service.id}: not launched by this run (no `launch:` in the inventory)")
            self.fault_at = time.monotonic()
            state.launcher.signal(self.service.id, SIGNALS[self.mode])

    def _detect(self) -> float | None:
        """Poll until the gate sees the service fail, within the service's timeout."""
        from pytest_basb.connection.drill_probe import answers, fresh_session_answers

        deadline = self.fault_at + self.timeout_s
        bound = min(_POLL_BOUND_S, self.timeout_s)
        while time.monotonic() < deadline:
            if self.stdio:
                failed = answers(self.state.session(self.service.id).connection, bound) is not None
            else:
                endpoint = self.state.endpoints[self.service.id]
                runtime = self.state.mcp_runtime()
                failed = fresh_session_answers(runtime, endpoint, bound, self.state.redactor) is not None
            if failed:
                return self._since_fault()
            time.sleep(_POLL_PAUSE_S)
        return None

    def _alert_budget_s(self) -> float:
        environment = self.state.environment
        assert environment is not None
        return environment.incident.alert_timeout_s if environment.incident else 300.0

    def _quiet(self, alertmanager_url: str) -> bool:
        """No alert for the service fires before the fault (an earlier one would be timed as this
        drill's): waits for it to resolve, within the alert budget."""
        from pytest_basb.run.alerts import firing_for

        deadline = time.monotonic() + self._alert_budget_s()
        while firing_for(alertmanager_url, self.service.id):
            if time.monotonic() >= deadline:
                return False
            time.sleep(ALERT_POLL_S)
        return True

    def _alerted(self, alertmanager_url: str) -> float | None:
        from pytest_basb.run.alerts import firing_for

        deadline = self.fault_at + self._alert_budget_s()
        while time.monotonic() < deadline:
            if firing_for(alertmanager_url, self.service.id):
                return self._since_fault()
            time.sleep(ALERT_POLL_S)
        return None

    def _recover(self) -> str | None:
        """The runbook's recovery, then a new gate session in steady state; None, or why not."""
        state = self.state
        if self.stdio:
            self._drop_session()  # kills the server: the next session spawns a new one
        try:
            if state.options.target == "containers":
                self._recover_container()
            elif not self.stdio:
                assert state.launcher is not None
                state.launcher.relaunch(self.service, ready_timeout_s=self._start_budget_s())
        except TargetError as exc:
            return str(exc).splitlines()[0]
        self._drop_session()  # the old server is gone now: closing its session cannot wait on it
        deadline = time.monotonic() + self._start_budget_s()
        why: str | None = "no attempt"
        while time.monotonic() < deadline:
            why = self._steady()  # opens the new session: a stdio server is spawned again here
            if why is None:
                return None
            self._drop_session()
            time.sleep(_POLL_PAUSE_S * 5)
        return f"no steady state again: {why}" if why else None

    def _start_budget_s(self) -> float:
        """How long a restarted server may take to answer: as long as its first start may take."""
        if self.state.options.target == "containers":
            from pytest_basb.targets.containers import start_budget_s

            return start_budget_s(self.service)  # a container's server starts after its port is published
        return max(self.timeout_s, 15.0)

    def _recover_container(self) -> None:
        from pytest_basb.targets.container_faults import STOP_WAIT_S, recover

        if self.stopping is not None:  # start only once the stop is over
            self.stopping.join(STOP_WAIT_S)
        from pytest_basb.targets.containers import container_endpoint

        state = self.state
        assert state.containers is not None
        assert self.service.container is not None
        url = recover(state.containers, self.service.id, self.mode, self.service.container.port)
        state.endpoints[self.service.id] = container_endpoint(self.service, url)

    def _drop_session(self) -> None:
        """The gate's session to the broken server is closed (its server killed, over stdio)."""
        session = self.state.sessions.pop(self.service.id, None)
        if session is not None:
            self.state.mcp_runtime().discard(session.connection, kill=self.stdio)

    def _leave_blocked(self, why: str) -> None:
        """The rest of the run sees the service as blocked by this drill, without waiting on it."""
        self._drop_session()
        sid = self.service.id
        self.state.launch_errors[sid] = f"{sid}: left broken by {self.check_id}: {why}"
        self.state.blamed[sid] = self.check_id

    def _since_fault(self) -> float:
        return round(time.monotonic() - self.fault_at, 3)


def _alertmanager_url(state: BasbState) -> str | None:
    """`monitoring.alertmanager_url` of the environment, when the inventory has one."""
    monitoring: Any = getattr(state.environment, "monitoring", None)
    url = getattr(monitoring, "alertmanager_url", None) if monitoring is not None else None
    return str(url) if url else None


def ledger_paths(state: BasbState) -> list[Path]:
    """The drill ledgers: the report folder's, and the vault's beside the daily log."""
    from pytest_basb.obsidian.daily import DEFAULT_LOG_DIR

    paths = [state.options.report_dir / LEDGER]
    vault = state.options.vault or (state.environment.vault if state.environment else None)
    if vault is not None:
        paths.append(vault / DEFAULT_LOG_DIR / LEDGER)
    return paths


def _append(state: BasbState, record: DrillRecord) -> None:
    for path in ledger_paths(state):
        append_line(path, record.to_json())
