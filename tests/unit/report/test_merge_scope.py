"""`basb-report merge` never reports a full PASS it did not see: shards of one run only, gaps named."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pytest_basb.report.merge import MergeError, merge_gates


def shard(
    index: int | None,
    total: int = 3,
    *,
    services: tuple[str, ...] = ("a",),
    suites: tuple[str, ...] = ("health",),
    reasons: tuple[str, ...] = (),
    environment: str = "prod",
    checks_total: int | None = 6,
) -> tuple[Path, dict[str, Any]]:
    checks: list[dict[str, Any]] = [
        {
            "id": "health.handshake",
            "service": s,
            "outcome": "pass",
            "severity": "fail",
            "duration_s": 0.01,
            "message": None,
            "evidence": {},
            "nodeid": f"test_handshake[{s}]",
        }
        for s in services
    ]
    document: dict[str, Any] = {
        "version": 1,
        "environment": environment,
        "started_at": "2026-12-03T08:00:00+00:00",
        "finished_at": "2026-12-03T08:01:00+00:00",
        "verdict": "pass",
        "duration_s": 60.0,
        "summary": {"pass": len(services)},
        "gate": [],
        "services": [
            {
                "id": s,
                "status": "pass",
                "role": None,
                "transport": "stdio",
                "protocol_version": None,
                "server": {"name": None, "version": None},
            }
            for s in services
        ],
        "checks": checks,
        "scope": {
            "full": False,
            "suites": list(suites),
            "services": {"checked": len(services), "total": 3},
            "checks": {"selected": len(checks), "total": checks_total},
            "reasons": [*(([f"--basb-shard {index}/{total}"]) if index else []), *reasons],
        },
    }
    if index is not None:
        document["shard"] = {"index": index, "total": total}
    return Path(f"shard{index}-{'-'.join(services)}/gate.json"), document


def test_every_shard_of_one_run_merges_into_a_full_pass() -> None:
    report, _ = merge_gates([shard(1, services=("a",)), shard(2, services=("b",)), shard(3, services=("c",))])
    assert report.verdict == "pass"
    assert report.full_scope.full
    assert report.verdict_text() == "PASS"
    assert (report.full_scope.services_checked, report.full_scope.services_total) == (3, 3)


def test_a_missing_shard_makes_the_merge_partial_and_names_it() -> None:
    report, _ = merge_gates([shard(1, services=("a",)), shard(3, services=("c",))])
    assert not report.full_scope.full
    assert report.full_scope.reasons == ("shard 2/3 missing",)
    assert report.verdict_text().startswith("PASS (partial: 2/3 services")


def test_a_narrowed_shard_makes_the_merge_partial() -> None:
    narrowed = shard(2, services=("b",), reasons=("-k handshake",))
    report, _ = merge_gates([shard(1, services=("a",)), narrowed, shard(3, services=("c",))])
    assert report.full_scope.reasons == ("shard2-b/gate.json: -k handshake",)


@pytest.mark.parametrize(
    ("documents", "says"),
    [
        ([shard(1, services=("a",)), shard(1, services=("b",))], "shard 1 is also"),
        ([shard(1, 3, services=("a",)), shard(2, 2, services=("b",))], "shard counts [2, 3]"),
        ([shard(1, suites=("health",)), shard(2, suites=("smoke",), services=("b",))], "different suites"),
        ([shard(1, environment="prod"), shard(2, environment="staging", services=("b",))], "different environments"),
        ([shard(1, services=("a",)), shard(None, services=("b",))], "not a shard run"),
        ([shard(None, services=("a",)), shard(None, services=("b",))], "none of them a shard"),
    ],
    ids=["duplicate", "counts", "suites", "environments", "mixed", "no-shards"],
)
def test_inputs_that_are_not_one_run_are_refused(documents: list[tuple[Path, dict[str, Any]]], says: str) -> None:
    with pytest.raises(MergeError, match=re.escape(says)):
        merge_gates(documents)


def test_a_single_full_run_merges_as_itself() -> None:
    path, document = shard(None, services=("a", "b", "c"))
    document["scope"]["full"] = True
    report, _ = merge_gates([(path, document)])
    assert report.full_scope.full


def test_merge_cli_refuses_reports_that_break_the_schema(tmp_path: Path) -> None:
    import json

    from pytest_basb.report.merge import main

    _, document = shard(1, services=("a",))
    document["checks"][0]["outcome"] = "great"
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / "gate.json").write_text(json.dumps(document))
    assert main(["merge", "--out", str(tmp_path / "out"), str(tmp_path / "s1")]) == 2
    assert not (tmp_path / "out").exists()
