"""How a service is reached: `live` (as configured), `local` (HTTP servers launched by the plugin),
`containers` (images started with testcontainers), with the process plumbing they share
(`stdio_process`, `reaper`) and the containers' MCP healthcheck (`healthcheck`). Each target turns
ServiceConfigs into Endpoints. May import `inventory`, `model`; no pytest.
"""

from __future__ import annotations

TARGETS = ("live", "local", "containers")
