"""pytest-basb: a deployment gate for MCP-based Building-a-Second-Brain services."""

from __future__ import annotations

__version__ = "0.1.0"
