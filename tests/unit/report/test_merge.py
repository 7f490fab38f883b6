"""`basb-report merge`: shard reports merge into one gate, and inputs that cannot be merged are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pytest_basb.model.results import CheckResult
from pytest_basb.report.gate import Scope, ServiceSummary, build_gate
from pytest_basb.report.gate_files import gate_dict, write_gate_json
from pytest_basb.report.merge import MergeError, merge_gates, read_shard
from pytest_basb.report.merge import main as basb_report


def test_merge_refuses_reports_of_different_environments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shard(tmp_path / "a", SEARCH, [result("health.handshake", "search")], 0, 1, environment="staging")
    shard(tmp_path / "b", CAPTURE, [result("health.handshake", "capture")], 0, 1, index=2, environment="prod")
    assert basb_report(["merge", "--out", str(tmp_path / "out"), str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "different environments" in capsys.readouterr().err
    assert basb_report(["merge", "--out", str(tmp_path / "out"), str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


T0 = datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)
SEARCH = ServiceSummary("search", "search", "streamable-http")
CAPTURE = ServiceSummary("capture", "capture", "stdio")


def result(check_id: str, service: str, outcome: str = "pass") -> CheckResult:
    return CheckResult(check_id, service, outcome, nodeid=f"suites/x.py::test_{check_id}[{service}]")  # type: ignore[arg-type]


def shard(
    folder: Path,
    service: ServiceSummary,
    results: list[CheckResult],
    start_s: int,
    end_s: int,
    index: int = 1,
    environment: str = "staging",
    incident: dict[str, object] | None = None,
) -> Path:
    """Shard `index` of 2 of a run of the health and smoke suites, as `--basb-shard` writes it."""
    scope = Scope(("health", "smoke"), 1, 2, len(results), None, reasons=(f"--basb-shard {index}/2",))
    report = build_gate(
        results,
        environment=environment,
        services=[service],
        started_at=T0 + timedelta(seconds=start_s),
        finished_at=T0 + timedelta(seconds=end_s),
        runbooks_dir=None,
        ci_ok=None,
        scope=scope,
    )
    facts: dict[str, object] = {"shard": {"index": index, "total": 2}}
    if incident is not None:
        facts["incident"] = incident
    write_gate_json(report, folder / "gate.json", extra=facts)
    return folder


def test_shards_merge_into_the_gate_one_run_would_give(tmp_path: Path) -> None:
    search = [result("health.handshake", "search"), result("smoke.call", "search", "fail")]
    capture = [result("health.handshake", "capture"), result("health.liveness", "capture")]
    a = shard(tmp_path / "a", SEARCH, search, 5, 20)
    b = shard(tmp_path / "b", CAPTURE, capture, 0, 12, index=2)
    merged, extra = merge_gates([read_shard(a), read_shard(b)])
    single = build_gate(
        search + capture,
        environment="staging",
        services=[SEARCH, CAPTURE],
        started_at=T0,
        finished_at=T0 + timedelta(seconds=20),
        runbooks_dir=None,
        ci_ok=None,
    )
    merged_dict, single_dict = gate_dict(merged), gate_dict(single)
    assert merged_dict.pop("scope") == {**single_dict.pop("scope"), "checks": {"selected": 4, "total": None}}
    assert merged_dict == single_dict  # same checks, services, verdict, items and times
    assert merged.verdict == "fail"
    assert extra["merged_from"] == [str(a / "gate.json"), str(b / "gate.json")]


def test_a_check_in_two_shards_is_refused_naming_the_file(tmp_path: Path) -> None:
    twice = [result("health.handshake", "search")]
    a, b = shard(tmp_path / "a", SEARCH, twice, 0, 1), shard(tmp_path / "b", SEARCH, twice, 0, 1, index=2)
    with pytest.raises(MergeError, match=r"b/gate.json: health.handshake on search is also in another shard"):
        merge_gates([read_shard(a), read_shard(b)])
    with pytest.raises(MergeError, match="no shard reports given"):
        merge_gates([])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not a readable gate.json"),
        ('{"version": 2, "checks": []}', "not a pytest-basb gate.json (version 1 with checks)"),
        ('{"version": 1}', "not a pytest-basb gate.json"),
    ],
)
def test_what_is_not_a_gate_json_is_refused(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "gate.json"
    path.write_text(content)
    with pytest.raises(MergeError) as caught:
        read_shard(tmp_path)  # a folder means its gate.json
    assert str(caught.value).startswith(f"{path}: {problem}")


def test_the_cli_writes_every_report_file_and_exits_with_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = shard(tmp_path / "a", SEARCH, [result("health.handshake", "search")], 0, 1)
    b = shard(tmp_path / "b", CAPTURE, [result("health.handshake", "capture")], 0, 1, index=2)
    assert basb_report(["merge", "--out", str(tmp_path / "out"), str(a), str(b / "gate.json")]) == 0
    out = capsys.readouterr().out
    for name in ("gate.json", "gate.md", "metrics.prom", "events.jsonl"):
        assert (tmp_path / "out" / name).is_file()
        assert f"report: {tmp_path / 'out' / name}" in out
    failing = shard(tmp_path / "c", CAPTURE, [result("health.handshake", "capture", "fail")], 0, 1, index=2)
    assert basb_report(["merge", "--out", str(tmp_path / "out2"), str(a), str(failing)]) == 1
    assert basb_report(["merge", str(a)]) == 2  # --out is required
    assert "--out" in capsys.readouterr().err


def test_the_merged_incident_item_reads_every_shards_drill_ledger(tmp_path: Path) -> None:
    from pytest_basb.model.drills import MODES, DrillRecord
    from pytest_basb.model.files import append_line
    from pytest_basb.report.gate import INCIDENT

    vault_ledger = tmp_path / "vault" / "drills.jsonl"
    incident = {"drill_max_age_days": 7, "ledgers": [str(vault_ledger)]}  # as each shard's run recorded it
    a = shard(tmp_path / "a", SEARCH, [result("health.handshake", "search")], 0, 10, incident=incident)
    b = shard(tmp_path / "b", CAPTURE, [result("health.handshake", "capture")], 0, 10, index=2, incident=incident)

    def drill(service: str, mode: str, folder: Path) -> None:
        started = (T0 - timedelta(days=1)).isoformat()
        append_line(folder, DrillRecord(service, mode, started, 0.1, None, 2.0, "r.md", "pass", "staging").to_json())

    for mode in MODES:
        drill("search", mode, a / "drills.jsonl")  # beside shard a's report
        drill("capture", mode, vault_ledger)  # in the vault the shards named
    merged, _ = merge_gates([read_shard(a), read_shard(b)])
    item = next(g for g in merged.gate if g.item == INCIDENT)
    assert item.status == "fail"  # the shipped runbooks were not searched: no runbook folder in the shards
    assert not any("no drill" in line for line in item.evidence), item.evidence
    vault_ledger.unlink()
    merged, _ = merge_gates([read_shard(a), read_shard(b)])
    item = next(g for g in merged.gate if g.item == INCIDENT)
    assert [line for line in item.evidence if "no drill" in line] == [f"capture {m}: no drill" for m in MODES]
