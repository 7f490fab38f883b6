"""Health checks from plain data: handshake budget, protocol version, serverInfo, capabilities, the HTTP
health route and stdout hygiene."""

from __future__ import annotations

import dataclasses

import pytest

from pytest_basb.checks import health
from pytest_basb.inventory.load import Expectations
from pytest_basb.model.mcp_data import Handshake

HS = Handshake(
    protocol_version="2025-06-18",
    era="legacy",
    server_name="basb-search",
    server_version="1.2.3",
    capabilities={"tools": {}, "logging": {}},
    instructions=None,
    duration_s=0.25,
)


def test_handshake_within_budget_passes_with_its_facts() -> None:
    result = health.handshake("s", HS, budget_s=1.0)
    assert result.outcome == "pass"
    assert result.evidence["server"] == {"name": "basb-search", "version": "1.2.3"}
    assert (result.evidence["protocol_version"], result.evidence["era"]) == ("2025-06-18", "legacy")


def test_slow_handshake_fails_naming_time_and_budget() -> None:
    result = health.handshake("s", dataclasses.replace(HS, duration_s=2.5), budget_s=2)
    assert (result.outcome, result.severity) == ("fail", "fail")
    assert result.message == "handshake took 2.50s, over the 2s budget"
    assert result.evidence["latency_s"] == 2.5  # the evidence still says what was negotiated


def test_protocol_version_must_be_allowed() -> None:
    assert health.protocol_version("s", HS, allowed=["2025-06-18", "2025-11-25"]).outcome == "pass"
    refused = health.protocol_version("s", HS, allowed=["2025-11-25"])
    assert refused.outcome == "fail"
    assert "'2025-06-18' is not allowed (protocol_versions: 2025-11-25)" in (refused.message or "")
    assert refused.evidence["allowed"] == ["2025-11-25"]


def test_server_info_compares_name_and_version_and_reports_both() -> None:
    assert health.server_info("s", HS, Expectations()).outcome == "pass"
    expected = Expectations(server_name="basb-search", server_version="1.2.3")
    assert health.server_info("s", HS, expected).outcome == "pass"
    wrong = health.server_info("s", HS, Expectations(server_name="basb-capture", server_version="2.0"))
    assert wrong.outcome == "fail"
    assert wrong.message == (
        "server name is 'basb-search', expected 'basb-capture'; server version is '1.2.3', expected '2.0'"
    )


def test_anonymous_server_is_a_warning_unless_a_name_was_expected() -> None:
    anonymous = dataclasses.replace(HS, server_name=None, server_version=None)
    warned = health.server_info("s", anonymous, Expectations())
    assert (warned.outcome, warned.severity) == ("warn", "warn")
    assert "does not identify itself" in (warned.message or "")
    assert health.server_info("s", anonymous, Expectations(server_name="basb-search")).outcome == "fail"


@pytest.mark.parametrize(("era", "method"), [("legacy", "ping"), ("modern", "server/discover")])
def test_liveness_names_the_method_of_the_era(era: str, method: str) -> None:
    assert health.liveness("s", era=era, latency_s=0.01234).evidence == {"method": method, "latency_s": 0.0123}


def test_declared_capabilities_must_list() -> None:
    ok = health.declared_capabilities("s", {"tools": {}, "prompts": {}, "logging": {}}, {})
    assert ok.outcome == "pass"
    assert ok.evidence == {"declared": ["logging", "prompts", "tools"], "listed": ["prompts", "tools"]}
    broken = health.declared_capabilities("s", {"tools": {}, "prompts": {}}, {"prompts": "-32601", "tools": "boom"})
    assert broken.outcome == "fail"
    assert broken.message == "declared capabilities that do not work: prompts: -32601; tools: boom"
    nothing = health.declared_capabilities("s", {"logging": {}}, {})
    assert (nothing.outcome, nothing.severity) == ("warn", "warn")


@pytest.mark.parametrize(
    ("status", "error", "outcome", "message"),
    [
        (200, None, "pass", None),
        (204, None, "pass", None),
        (503, None, "fail", "GET http://h/health answered 503, expected 2xx"),
        (301, None, "fail", "GET http://h/health answered 301, expected 2xx"),
        (None, None, "fail", "GET http://h/health answered None, expected 2xx"),
        (None, "connection refused", "fail", "GET http://h/health failed: connection refused"),
    ],
)
def test_http_health(status: int | None, error: str | None, outcome: str, message: str | None) -> None:
    result = health.http_health("s", "http://h/health", status=status, latency_s=0.1, error=error)
    assert (result.outcome, result.message) == (outcome, message)


def test_http_health_skips_without_a_url() -> None:
    result = health.http_health("s", None, status=None, latency_s=0.0, error=None)
    assert (result.outcome, result.message) == ("skip", "no health_url configured")


def test_stdio_hygiene_counts_only_non_json_rpc_lines() -> None:
    anomalies = ["non-JSON-RPC output: hello", "a late response to id 3", "non-JSON-RPC output: DEBUG x"]
    dirty = health.stdio_hygiene("s", "stdio", anomalies)
    assert dirty.outcome == "fail"
    assert dirty.message == "2 line(s) on stdout were not JSON-RPC; first: non-JSON-RPC output: hello"
    assert health.stdio_hygiene("s", "stdio", ["a late response to id 3"]).outcome == "pass"
    assert health.stdio_hygiene("s", "sse", anomalies).outcome == "skip"


def test_output_at_exit_fails_a_clean_stdio_hygiene_and_adds_to_a_failing_one() -> None:
    clean = health.stdio_hygiene("s", "stdio", [])
    late = health.stdio_exit_output(clean, 9, ["bye\x1b[0m " + "x" * 300])
    assert late.outcome == "fail"
    assert late.message is not None
    assert late.message.startswith("wrote 9 bytes of non-JSON-RPC output to stdout at exit: 'bye")
    assert len(late.message) < 200  # the quote is bounded
    assert late.evidence == {"exit_output_bytes": 9, "exit_output_lines": 1}
    dirty = health.stdio_hygiene("s", "stdio", ["non-JSON-RPC output: hello"])
    both = health.stdio_exit_output(dirty, 4, ["bye"])
    assert both.outcome == "fail"
    assert both.message == f"{dirty.message}; it also wrote 4 bytes of non-JSON-RPC output to stdout at exit: 'bye'"
