"""The xdist scheduler that keeps every check of one service on one worker.

Imported only when xdist runs (`--dist loadgroup` does not group here: pytest 9 with xdist 3.8
ignores the renamed node id). It reuses LoadScopeScheduling's bookkeeping — including putting a
crashed worker's pending checks back in the queue for the others — and replaces the initial
distribution with the static plan of `scheduling.plan`, which workers also compute to prefetch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from xdist.scheduler import LoadScopeScheduling

from pytest_basb.parallel.scheduling import Links, plan, scope_of, worker_index


class ServiceScheduling(LoadScopeScheduling):
    """LoadScopeScheduling whose bookkeeping is O(1) per finished check.

    The base class counts a worker's pending checks by scanning its whole workload after every
    report, and finds each check's index by a list search: quadratic in the number of checks,
    which made the controller the bottleneck of a large fleet. Here each worker's count of pending
    checks is kept as work is assigned and completed.
    """

    def __init__(
        self, config: Any, log: Any, services: frozenset[str], links: Callable[[], Links] = lambda: ()
    ) -> None:
        super().__init__(config, log)
        self.services = services  # the environment's service ids: only their checks are grouped
        self.links = links  # read when scheduling: the workers publish them with their collection
        self._pending: dict[int, int] = {}  # id(a worker's workload) -> its checks not done
        self._indexes: dict[Any, dict[str, int]] = {}  # worker -> nodeid -> index in its collection

    def _pending_of(self, workload: dict[str, dict[str, bool]]) -> int:
        return self._pending.get(id(workload), 0)

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        nodeid = self.registered_collections[node][item_index]
        workload = self.assigned_work[node]
        unit = workload[self._split_scope(nodeid)]
        if not unit[nodeid]:
            unit[nodeid] = True
            self._pending[id(workload)] -= 1
        self._reschedule(node)

    def _assign_work_unit(self, node: Any) -> None:
        scope, unit = self.workqueue.popitem(last=False)
        workload = self.assigned_work.setdefault(node, {})
        workload[scope] = unit
        todo = [nodeid for nodeid, done in unit.items() if not done]
        self._pending[id(workload)] = self._pending.get(id(workload), 0) + len(todo)
        indexes = self._indexes.get(node)
        if indexes is None:
            indexes = self._indexes[node] = {n: i for i, n in enumerate(self.registered_collections[node])}
        node.send_runtest_some([indexes[nodeid] for nodeid in todo])

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid, self.services)

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:  # type: ignore[has-type]  # a replacement worker joined
            for node in self.nodes:
                self._reschedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.registered_collections.values())))
        if not self.collection:
            return
        units: OrderedDict[str, dict[str, bool]] = OrderedDict()
        for nodeid in self.collection:
            units.setdefault(scope_of(nodeid, self.services), {})[nodeid] = False
        nodes = sorted(self.nodes, key=lambda node: worker_index(node.gateway.id))
        for node, scopes in zip(nodes, plan(self.collection, len(nodes), self.services, self.links()), strict=True):
            for scope in scopes:
                self.workqueue[scope] = units[scope]
                self._assign_work_unit(node)
            if not scopes:
                node.shutdown()  # more workers than services; the others stop when done

    def remove_node(self, node: Any) -> str | None:
        """A worker left; if it crashed, its pending checks go to the others — except the one
        it crashed in, which xdist reports as an error (running it again would crash again)."""
        workload = self.assigned_work.pop(node)
        self._pending.pop(id(workload), None)
        pending = [nodeid for unit in workload.values() for nodeid, done in unit.items() if not done]
        if not pending:
            return None
        crashitem: str = pending[0]
        for scope, unit in workload.items():
            if crashitem in unit:
                unit[crashitem] = True
            if not all(unit.values()):
                self.workqueue[scope] = unit
        for other in self.assigned_work:
            self._reschedule(other)
        return crashitem
