"""Which process runs which service's checks: every check of one service on one xdist worker.

One session and one server process per service per run is what makes `-n 2` pay: a worker that
runs all of a service's checks opens it once and can open its share of services concurrently when
the run starts (prefetch). The split is a pure function of the collection and the number of
workers, so the controller (which schedules) and each worker (which prefetches its share) compute
the same answer without talking to each other. Other tests (a project's own, or the plugin's
self-tests) are balanced one by one, as `--dist load` does, and an `xdist_group` stays together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

from pytest_basb.outcome import service_in_nodeid

SERVICE_SCOPE = "basb-service:"


def scope_of(nodeid: str, services: Collection[str] | None = None) -> str:
    """The scheduling unit of a test: its service (one of `services`, when given); an xdist_group
    (`@name` suffix); else the test itself, balanced like `--dist load`."""
    if "@" in nodeid.rsplit("::", 1)[-1].rsplit("]", 1)[-1]:
        return "group:" + nodeid.rsplit("@", 1)[1]
    service = service_in_nodeid(nodeid)
    if service is not None and "::" in nodeid and (services is None or service in services):
        return SERVICE_SCOPE + service
    return nodeid


def plan(nodeids: Sequence[str], workers: int, services: Collection[str] | None = None) -> list[list[str]]:
    """Scopes per worker: largest first onto the least loaded worker (LPT), deterministic."""
    sizes = Counter(scope_of(n, services) for n in nodeids)
    shares: list[list[str]] = [[] for _ in range(max(workers, 1))]
    loads = [0] * len(shares)
    for scope, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        target = min(range(len(shares)), key=lambda i: (loads[i], i))
        shares[target].append(scope)
        loads[target] += size
    return shares


def services_of_worker(
    nodeids: Sequence[str], workers: int, index: int, services: Collection[str] | None = None
) -> list[str]:
    """The service ids whose checks the plan gives to worker `index`."""
    if index >= workers:
        return []
    share = plan(nodeids, workers, services)[index]
    return sorted(s.removeprefix(SERVICE_SCOPE) for s in share if s.startswith(SERVICE_SCOPE))


def worker_index(worker_id: str) -> int:
    """`gw3` -> 3 (xdist's worker ids), so both sides order workers alike."""
    digits = worker_id.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0
