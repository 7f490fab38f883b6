"""Pure judgements: functions from plain data (handshakes, listings, answers) to `CheckResult`s.
May import `inventory`, `model`; no pytest, no mcp, no network.
"""
