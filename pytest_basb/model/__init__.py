"""Plain records every layer shares: a check's result (`results`) and what a service answered
(`mcp_data`). Imports nothing of the project; no pytest, no mcp.
"""
