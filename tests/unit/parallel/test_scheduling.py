"""Sharding and the xdist scheduling plan: stable shards, one worker per service, linked services
together, speculations from the collected checks only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_basb.inventory.sharding import parse_shard, shard_of
from pytest_basb.parallel.scheduling import (
    plan,
    publish_links,
    published_links,
    scope_of,
    services_of_worker,
    worker_index,
)


def test_shard_assignment_is_stable_and_covers_every_service() -> None:
    assert parse_shard("2/4") == (2, 4)
    with pytest.raises(ValueError, match="expected K/N"):
        parse_shard("0/4")
    names = [f"svc-{i}" for i in range(200)]
    shards = {name: shard_of(name, 4) for name in names}
    assert set(shards.values()) == {1, 2, 3, 4}
    assert shard_of("capture", 4) == shard_of("capture", 4)
    assert shard_of("capture", 1) == 1


def test_plan_keeps_each_service_on_one_worker_and_balances() -> None:
    nodeids = [f"suites/t.py::test_{c}[svc{s}]" for s in range(10) for c in range(16)]
    nodeids += [f"suites/r.py::test_flow[svc{s}]" for s in range(0, 10, 2)]
    shares = plan(nodeids, 2)
    assert sorted(scope for share in shares for scope in share) == sorted({scope_of(n) for n in nodeids})
    loads = [sum(1 for n in nodeids if scope_of(n) in share) for share in shares]
    assert max(loads) - min(loads) <= 17  # within one service's checks
    assert plan(list(reversed(nodeids)), 2) == shares  # the same on every process
    both = services_of_worker(nodeids, 2, 0) + services_of_worker(nodeids, 2, 1)
    assert sorted(both) == sorted(f"svc{s}" for s in range(10))
    # Tests that are not a known service's checks are balanced one by one; an xdist_group stays whole.
    assert scope_of("tests/test_x.py::test_y[2]", {"svc1"}) == "tests/test_x.py::test_y[2]"
    assert scope_of("tests/test_x.py::test_y[svc1]", {"svc1"}) == "basb-service:svc1"
    assert scope_of("tests/test_d.py::test_z@docker", {"svc1"}) == "group:docker"


def test_speculations_follow_the_collected_checks_only() -> None:
    from pytest_basb.checks.smoke import UNKNOWN_TOOL
    from pytest_basb.connection.speculation import plans_from
    from pytest_basb.inventory.load import ServiceConfig, SmokeCall

    service = ServiceConfig(
        id="svc",
        transport="stdio",
        command=("python", "x.py"),
        smoke=(SmokeCall(tool="add", arguments={"a": 1}), SmokeCall(prompt="greet", arguments={"name": 3})),
    )
    listings: dict[str, list[dict[str, Any]]] = {
        "tools/list": [{"name": "add"}],
        "resources/list": [{"uri": "info://a"}],
        "prompts/list": [{"name": "greet", "arguments": [{"name": "name", "required": True}]}, {"name": "needs"}],
    }
    plans = plans_from([("svc", "health.liveness", None), ("svc", "smoke.call", 0), ("svc", "smoke.prompts_get", None)])
    ops = [(s.check, s.operation, s.args) for s in plans["svc"].speculations(service, era="modern", listings=listings)]
    assert ops == [
        ("health.liveness", "liveness", ("modern",)),
        ("smoke.call", "call_tool", ("add", {"a": 1})),
        ("smoke.prompts_get", "get_prompt", ("greet", {"name": "3"})),
        ("smoke.prompts_get", "get_prompt", ("needs", {})),
    ]
    # Checks that were not collected send nothing ahead (no unknown tool, no resource reads).
    assert all(UNKNOWN_TOOL not in str(op) and "read_resource" not in op for op in ops)


def test_plan_keeps_linked_services_on_one_worker() -> None:
    nodeids = [f"s/test_h.py::test_{c}[{s}]" for s in ("a", "b", "c", "d") for c in range(5)]
    unlinked = plan(nodeids, 2)
    assert sorted(map(len, unlinked)) == [2, 2]  # balanced: two services each
    linked = plan(nodeids, 2, links=[{"a", "b", "c"}])
    assert sorted(map(sorted, linked)) == [["basb-service:a", "basb-service:b", "basb-service:c"], ["basb-service:d"]]
    assert plan(list(reversed(nodeids)), 2, links=[{"c", "a", "b"}]) == linked  # the same on every process
    # Links chain: a-b and b-c make one unit.
    assert sorted(map(len, plan(nodeids, 2, links=[{"a", "b"}, {"b", "c"}]))) == [1, 3]


def test_worker_ids_and_shares_beyond_the_worker_count() -> None:
    assert [worker_index(w) for w in ("gw0", "gw3", "gw12", "master")] == [0, 3, 12, 0]
    nodeids = [f"suites/h.py::test_x[{s}]" for s in ("a", "b", "c")]
    shares = [services_of_worker(nodeids, 2, i) for i in range(3)]
    assert sorted(shares[0] + shares[1]) == ["a", "b", "c"]
    assert shares[2] == []  # a worker index past the count gets nothing


def test_links_round_trip_through_the_run_folder(tmp_path: Path) -> None:
    assert published_links(None) == []
    assert published_links(tmp_path) == []
    publish_links(tmp_path, [{"search", "capture"}, ["vault"]])
    assert published_links(tmp_path) == [["capture", "search"], ["vault"]]
    nodeids = [f"suites/h.py::test_x[{s}]" for s in ("capture", "search", "vault", "organize")]
    linked = plan(nodeids, 2, links=published_links(tmp_path))
    assert any({"basb-service:capture", "basb-service:search"} <= set(share) for share in linked)


def test_services_outside_the_inventory_are_balanced_one_by_one() -> None:
    nodeids = ["tests/test_own.py::test_a[x]", "tests/test_own.py::test_b[x]"]
    assert scope_of(nodeids[0], services={"search"}) == nodeids[0]
    assert sorted(map(len, plan(nodeids, 2, services={"search"}))) == [1, 1]
