"""`--basb-shard=K/N`: split an environment's services over N runs (CI jobs or machines).

A service belongs to shard `1 + sha256(id) mod N`: stable across runs, machines and Python
versions (unlike `hash()`), and independent of which other services exist, so adding a service
never moves the others. `basb-report merge` joins the shards' gate.json files into one gate.
"""

from __future__ import annotations

import hashlib
import re

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """`"2/4"` -> (2, 4); ValueError that says what is expected."""
    match = _SHARD.match(text)
    if match is None or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError(f"--basb-shard: expected K/N with 1 <= K <= N (e.g. 1/3), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def shard_of(service_id: str, total: int) -> int:
    digest = hashlib.sha256(service_id.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % total
