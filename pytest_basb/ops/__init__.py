"""Operations helpers that stand alone: vault backup and restore (`vault_backup`) and the CI status
file the gate reads (`ci_status`). May import `model` only; no pytest, no mcp.
"""
