"""One MCP probe of one service (`basb-probe`), as plain data: did it pass, how long each phase took."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# The phases a probe times, in order; `total` spans the whole probe, closing the session included.
PHASES = ("handshake", "list", "call", "total")


@dataclass(frozen=True)
class ProbeOutcome:
    """The result of one probe: `durations` holds the phases it reached (seconds), `failure` why it failed."""

    service: str
    success: bool
    durations: Mapping[str, float] = field(default_factory=dict)
    failure: str | None = None
