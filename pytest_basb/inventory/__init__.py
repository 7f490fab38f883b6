"""The inventory: load and validate `basb-inventory.yaml` into frozen records (`load`), read check
policy and waivers (`policy`), tell which values are secrets (`secret_values`) and mask them
(`redaction`), split services across shards (`sharding`). May import `model` and `policy` only.
"""
