"""Which services a process opens at the start, and the requests its collected checks will make."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_basb.run.outcome import service_of
from pytest_basb.run.policy import is_off
from pytest_basb.run.state import STATE_KEY


def check_id_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("basb_check")
    return str(marker.args[0]) if marker else None


def services_to_prefetch(session: pytest.Session, config: pytest.Config) -> list[str]:
    """This process's share: every collected service, or under xdist the worker's part of the plan."""
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    if worker_input is None:
        return sorted({sid for item in session.items if (sid := service_of(item)) is not None})
    from pytest_basb.parallel.scheduling import services_of_worker, worker_index

    if not worker_input.get("basb_by_service"):
        return []  # another scheduler decides: open sessions as checks need them
    nodeids = [item.nodeid for item in session.items]
    state = config.stash[STATE_KEY]
    known = {s.id for s in state.environment.services} if state.environment else set()
    count, index = int(worker_input["workercount"]), worker_index(worker_input["workerid"])
    return services_of_worker(nodeids, count, index, known, state.links)


def checks_of(items: list[pytest.Item], services: set[str]) -> list[tuple[str, str, int | None]]:
    """(service, check id, declared call index) of each collected check of these services."""
    found = []
    for item in items:
        marker = item.get_closest_marker("basb_check")
        service_id = service_of(item)
        if marker is None or service_id not in services or is_off(item):
            continue
        declared = getattr(item, "callspec", None) and item.callspec.params.get("basb_declared_call")  # type: ignore[attr-defined]
        found.append((str(service_id), str(marker.args[0]), declared[1] if declared else None))
    return found
