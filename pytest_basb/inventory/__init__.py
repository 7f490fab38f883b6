"""The inventory: load and validate `basb-inventory.yaml` into frozen records (`load`), mask secrets
(`redaction`), split services across shards (`sharding`). May import `model` only.
"""
