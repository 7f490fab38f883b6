"""Short-bounded MCP probes for drills: does a service answer a handshake and a listing right now?

Each returns None when the service answered, else why not (the first line of the failure).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_basb.model.mcp_data import ServiceError

if TYPE_CHECKING:
    from pytest_basb.connection.client import Connection
    from pytest_basb.connection.runtime import McpRuntime
    from pytest_basb.inventory.redaction import Redactor
    from pytest_basb.targets.base import Endpoint


def answers(connection: Connection, within_s: float) -> str | None:
    """An open session's steady state: its handshake held, and a listing (or liveness) answers now."""
    from pytest_basb.connection import requests

    if connection.failure is not None:
        return _first_line(connection.failure)
    if connection.handshake is None:
        return "no handshake"
    declared = [m for m, key in requests.LISTINGS.items() if key in connection.handshake.capabilities]
    try:
        if declared:
            connection.run(declared[0], requests.list_all, declared[0], within_s=within_s)
        else:
            connection.run("liveness", requests.liveness, connection.handshake.era, within_s=within_s)
    except ServiceError as exc:
        return _first_line(exc)
    return None


def fresh_session_answers(runtime: McpRuntime, endpoint: Endpoint, within_s: float, redactor: Redactor) -> str | None:
    """A new session to an HTTP endpoint: handshake and listing, each within `within_s`; then closed."""
    from pytest_basb.connection.wire import Transcript

    connection = runtime.connection(endpoint, timeout_s=within_s, transcript=Transcript(redactor))
    try:
        runtime.open_all([connection], prefetch=False)
        return answers(connection, within_s)
    finally:
        runtime.discard(connection, kill=False, grace_s=1.0)


def _first_line(error: BaseException) -> str:
    lines = str(error).splitlines()
    return lines[0] if lines else type(error).__name__
