"""How a service is reached: `live` (as configured), `local` (HTTP servers launched by the plugin),
`containers` (images started with testcontainers). Each target turns ServiceConfigs into Endpoints."""

from __future__ import annotations

TARGETS = ("live", "local", "containers")
