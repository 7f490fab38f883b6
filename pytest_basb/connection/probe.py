"""One blackbox-style MCP probe of one service (`basb-probe`): open a session (the handshake), one
listing, the service's declared smoke calls, then close it; each step under the service's
`timeout_s`, so a hung service fails the probe instead of hanging it.

The probe uses the gate's own `Connection` on a shared `McpRuntime`, and judges each smoke call
with the gate's `smoke.call` check, so a probe fails exactly where the gate's smoke suite would.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

import anyio

from pytest_basb.checks.smoke import smoke_call
from pytest_basb.connection.client import Connection
from pytest_basb.connection.requests import LISTINGS, call_tool, describe_exc, get_prompt, list_all
from pytest_basb.connection.wire import Transcript
from pytest_basb.inventory.load import ServiceConfig, SmokeCall
from pytest_basb.model.mcp_data import ServiceError, ToolCallOutcome
from pytest_basb.model.probe import ProbeOutcome
from pytest_basb.model.text import shorten
from pytest_basb.targets.live import endpoint_for

if TYPE_CHECKING:
    from pytest_basb.connection.runtime import McpRuntime
    from pytest_basb.inventory.redaction import Redactor


class ProbeFailed(Exception):
    """A phase failed; the message says which and why (already redacted)."""


class _Budget:
    """Gives each step the service's timeout, or what is left of the probe's budget when that is less."""

    def __init__(self, connection: Connection, timeout_s: float, budget_s: float | None) -> None:
        self.connection, self.timeout_s, self.budget_s = connection, timeout_s, budget_s
        self.deadline = time.perf_counter() + budget_s if budget_s is not None else None

    def next_step(self) -> None:
        if self.deadline is None:
            return
        left = self.deadline - time.perf_counter()
        if left <= 0.05:
            raise ProbeFailed(f"out of time: the probe's budget of {self.budget_s:g}s is spent")
        self.connection.timeout_s = min(self.timeout_s, round(left, 2))  # 2 decimals: messages say "1 s"


def probe_service(
    runtime: McpRuntime, service: ServiceConfig, redactor: Redactor, *, budget_s: float | None = None
) -> ProbeOutcome:
    """Probe `service` once; never raises for what the service does. Each step waits at most the
    service's `timeout_s`, and all of them together at most `budget_s` (Prometheus' scrape timeout:
    a probe that outlived the scrape would leave no `basb_probe_success` sample to alert on)."""
    durations: dict[str, float] = {}
    started = time.perf_counter()
    # Not registered with the runtime: a long-running prober makes a session per request and
    # closes each one itself, so the runtime's list must not grow.
    endpoint, transcript = endpoint_for(service), Transcript(redactor)
    connection = Connection(runtime, endpoint, timeout_s=service.timeout_s, transcript=transcript)
    budget = _Budget(connection, service.timeout_s, budget_s)
    failure: str | None = None
    try:
        budget.next_step()
        _handshake(runtime, connection, durations)
        budget.next_step()
        tools = _list(connection, durations)
        _calls(connection, service, tools, durations, budget)
    except (ProbeFailed, ServiceError) as exc:
        failure = str(exc)
    except Exception as exc:  # an answer the client cannot take apart: the probe fails, the prober lives on
        failure = f"{service.id}: probe failed: {describe_exc(exc)}"
    finally:
        _close(runtime, connection)
    durations["total"] = time.perf_counter() - started
    return ProbeOutcome(service.id, failure is None, durations, redactor.text(failure) if failure else None)


def _handshake(runtime: McpRuntime, connection: Connection, durations: dict[str, float]) -> None:
    started = time.perf_counter()
    try:
        runtime.call(connection.open, False)
    finally:
        durations["handshake"] = time.perf_counter() - started
    if connection.failure is not None:
        raise ProbeFailed(f"handshake: {connection.failure}")
    if connection.handshake is None:
        raise ProbeFailed(f"handshake: no answer within {connection.timeout_s:g}s")


def _list(connection: Connection, durations: dict[str, float]) -> list[dict[str, Any]]:
    """The first listing the server declares (tools before resources and prompts); its tools, if any."""
    assert connection.handshake is not None
    method = next((m for m, key in LISTINGS.items() if key in connection.handshake.capabilities), None)
    if method is None:
        return []
    started = time.perf_counter()
    try:
        items, _pages = connection.run(method, list_all, method)
    finally:
        durations["list"] = time.perf_counter() - started
    return items if method == "tools/list" else []


def _calls(
    connection: Connection,
    service: ServiceConfig,
    tools: list[dict[str, Any]],
    durations: dict[str, float],
    budget: _Budget,
) -> None:
    """Every declared smoke call, judged by the gate's smoke.call check; the first failure ends the probe."""
    if not service.smoke:
        return
    schemas = {t.get("name"): t.get("outputSchema") for t in tools}
    spent = 0.0
    try:
        for call in service.smoke:
            budget.next_step()
            started = time.perf_counter()
            try:
                problem = _call(connection, service, call, schemas, started)
            finally:
                spent += time.perf_counter() - started
            if problem is not None:
                raise ProbeFailed(f"call {call.label}: {problem}")
    finally:
        durations["call"] = spent


def _call(
    connection: Connection, service: ServiceConfig, call: SmokeCall, schemas: dict[Any, Any], started: float
) -> str | None:
    """Why this smoke call failed, or None."""
    arguments = dict(call.arguments)
    if call.prompt is not None:
        connection.run(f"prompts/get {call.prompt}", get_prompt, call.prompt, arguments or None)
        return None
    outcome: ToolCallOutcome = connection.run(f"tools/call {call.tool}", call_tool, call.tool, arguments or None)
    result = smoke_call(
        service.id, call, outcome, output_schema=schemas.get(call.tool), latency_s=time.perf_counter() - started
    )
    failed = result.outcome in ("fail", "error")  # a warning is the gate's "report only": not a failed probe
    return shorten(result.message or result.outcome, 300) if failed else None


def _close(runtime: McpRuntime, connection: Connection) -> None:
    """Close the session within the deadline; a server that does not let go is cut off."""
    if connection.started:

        async def close_within() -> None:
            with anyio.move_on_after(connection.timeout_s):
                await connection.close()
            connection.cancel()

        with contextlib.suppress(Exception):  # a failing close says nothing the probe has not judged
            runtime.call(close_within)
    connection.kill()
    connection.release()
