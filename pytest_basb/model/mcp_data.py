"""Plain-data views of MCP answers, so checks and reports never import `mcp`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ServiceError(Exception):
    """A service misbehaved (timeout, crash, protocol error); the message says what happened."""

    def __init__(self, message: str, *, kind: str, blocked_by: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # timeout | closed | protocol | connect | oversized
        # Set when this check did not meet the failure itself: the check that reported its cause.
        self.blocked_by = blocked_by


@dataclass(frozen=True)
class Handshake:
    """What the connection negotiated, in plain data."""

    protocol_version: str
    era: str  # "legacy" (initialize) or "modern" (server/discover)
    server_name: str | None
    server_version: str | None
    capabilities: dict[str, Any]
    instructions: str | None
    duration_s: float


@dataclass(frozen=True)
class ToolCallOutcome:
    """A tools/call answer, or the JSON-RPC error it got, as plain data."""

    is_error: bool
    structured_content: Any
    text: str
    error_code: int | None = None
    error_message: str | None = None
    validation_error: str | None = None  # the SDK's own outputSchema check, if it refused
