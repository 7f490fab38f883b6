"""Operations helpers that stand alone: vault backup and restore (`vault_backup`) and the CI status
file the gate reads (`ci_status`), the webhook receiver that records Alertmanager's notifications
(`alert_receiver`). May import `model` only; no pytest, no mcp.
"""
