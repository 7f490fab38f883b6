"""What a target hands the client: where a service answers MCP right now."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_basb.inventory.load import Transport


@dataclass(frozen=True)
class Endpoint:
    """A reachable MCP service: a process to spawn (stdio) or a URL to talk to (HTTP, SSE)."""

    service_id: str
    transport: Transport
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    health_url: str | None = None
    metrics_url: str | None = None

    @property
    def display(self) -> str:
        """Where the service is, for messages: never headers or environment values."""
        if self.transport == "stdio":
            return f"stdio:{Path(self.command[0]).name} {' '.join(self.command[1:])}".strip()
        return f"{self.transport}:{self.url}"


class TargetError(RuntimeError):
    """A service could not be made reachable (launch failed, container did not start)."""
