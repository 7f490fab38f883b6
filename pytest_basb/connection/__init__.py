"""Talking to services: MCP sessions (`client`, `session`, the only importers of `mcp`), requests sent
ahead (`speculation`), HTTP pools and raw HTTP probes (`http_pools`, `http_probe`, `security_probe`),
one blackbox-style probe for `basb-probe` (`probe`), and the diagnostics of a failure (`auth_explain`,
`stderr_lines`). May import `targets`, `checks`, `inventory`, `model`; no pytest.
"""
