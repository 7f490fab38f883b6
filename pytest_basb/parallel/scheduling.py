"""Which process runs which service's checks: every check of one service on one xdist worker.

One session and one server process per service per run is what makes `-n 2` pay: a worker that
runs all of a service's checks opens it once and can open its share of services concurrently when
the run starts (prefetch). The split is a pure function of the collection and the number of
workers, so the controller (which schedules) and each worker (which prefetches its share) compute
the same answer without talking to each other. Other tests (a project's own, or the plugin's
self-tests) are balanced one by one, as `--dist load` does, and an `xdist_group` stays together.

A test that reaches other services by role (the CODE flow, marked `basb_uses_roles`) would start
its own copy of each stdio server it uses on a worker that does not own it; `links` keeps such
services on the flow's worker instead (HTTP services are cheap to open twice and stay balanced).
Workers compute the links from their items and publish them in the run folder (`LINKS_FILE`) before
they report their collection, so the controller schedules with the same links.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from pytest_basb.model.files import publish_json
from pytest_basb.run.outcome import service_in_nodeid

SERVICE_SCOPE = "basb-service:"
LINKS_FILE = "links.json"
Links = Sequence[Collection[str]]  # groups of service ids that share a worker


def scope_of(nodeid: str, services: Collection[str] | None = None) -> str:
    """The scheduling unit of a test: its service (one of `services`, when given); an xdist_group
    (`@name` suffix); else the test itself, balanced like `--dist load`."""
    if "@" in nodeid.rsplit("::", 1)[-1].rsplit("]", 1)[-1]:
        return "group:" + nodeid.rsplit("@", 1)[1]
    service = service_in_nodeid(nodeid)
    if service is not None and "::" in nodeid and (services is None or service in services):
        return SERVICE_SCOPE + service
    return nodeid


def plan(
    nodeids: Sequence[str], workers: int, services: Collection[str] | None = None, links: Links = ()
) -> list[list[str]]:
    """Scopes per worker: largest unit first onto the least loaded worker (LPT), deterministic.

    A unit is one scope, or the scopes of services that `links` keeps together."""
    sizes = Counter(scope_of(n, services) for n in nodeids)
    units = _units(sizes, links)
    shares: list[list[str]] = [[] for _ in range(max(workers, 1))]
    loads = [0] * len(shares)
    for unit in sorted(units, key=lambda u: (-sum(sizes[s] for s in u), u[0])):
        target = min(range(len(shares)), key=lambda i: (loads[i], i))
        shares[target].extend(unit)
        loads[target] += sum(sizes[s] for s in unit)
    return shares


def _units(sizes: Counter[str], links: Links) -> list[list[str]]:
    """Scopes merged along the links (union-find), each unit sorted."""
    parent = {scope: scope for scope in sizes}

    def root(scope: str) -> str:
        while parent[scope] != scope:
            parent[scope] = parent[parent[scope]]
            scope = parent[scope]
        return scope

    for group in links:
        scopes = sorted(SERVICE_SCOPE + s for s in group if SERVICE_SCOPE + s in parent)
        for other in scopes[1:]:
            parent[root(other)] = root(scopes[0])
    merged: dict[str, list[str]] = {}
    for scope in sorted(sizes):
        merged.setdefault(root(scope), []).append(scope)
    return list(merged.values())


def publish_links(run_dir: Path, links: Iterable[Collection[str]]) -> None:
    """A worker's links (every worker collects the same, so any one will do)."""
    publish_json(run_dir / LINKS_FILE, sorted(sorted(group) for group in links))


def published_links(run_dir: Path | None) -> list[list[str]]:
    if run_dir is None or not (run_dir / LINKS_FILE).is_file():
        return []
    links: list[list[str]] = json.loads((run_dir / LINKS_FILE).read_text())
    return links


def services_of_worker(
    nodeids: Sequence[str], workers: int, index: int, services: Collection[str] | None = None, links: Links = ()
) -> list[str]:
    """The service ids whose checks the plan gives to worker `index`."""
    if index >= workers:
        return []
    share = plan(nodeids, workers, services, links)[index]
    return sorted(s.removeprefix(SERVICE_SCOPE) for s in share if s.startswith(SERVICE_SCOPE))


def worker_index(worker_id: str) -> int:
    """`gw3` -> 3 (xdist's worker ids), so both sides order workers alike."""
    digits = worker_id.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0
