"""Health checks: is the service up, speaking an allowed protocol version, as configured?"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from pytest_basb.inventory.load import Expectations
from pytest_basb.model.mcp_data import Handshake
from pytest_basb.model.results import CheckResult, passed, skipped, violated
from pytest_basb.model.text import shorten

# Capabilities whose listings the smoke suite walks; the keys of ServerCapabilities.
LISTABLE_CAPABILITIES = ("tools", "resources", "prompts")


def _handshake_evidence(hs: Handshake) -> dict[str, Any]:
    return {
        "protocol_version": hs.protocol_version,
        "era": hs.era,
        "server": {"name": hs.server_name, "version": hs.server_version},
        "latency_s": round(hs.duration_s, 4),
    }


def handshake(service: str, hs: Handshake, *, budget_s: float) -> CheckResult:
    """The session was established (initialize or server/discover) within the budget."""
    evidence = _handshake_evidence(hs)
    if hs.duration_s > budget_s:
        return violated(
            "health.handshake",
            service,
            f"handshake took {hs.duration_s:.2f}s, over the {budget_s:g}s budget",
            evidence=evidence,
        )
    return passed("health.handshake", service, **evidence)


def protocol_version(service: str, hs: Handshake, *, allowed: Sequence[str]) -> CheckResult:
    if hs.protocol_version not in allowed:
        return violated(
            "health.protocol_version",
            service,
            f"negotiated protocol version {hs.protocol_version!r} is not allowed "
            f"(protocol_versions: {', '.join(allowed)})",
            protocol_version=hs.protocol_version,
            allowed=list(allowed),
        )
    return passed("health.protocol_version", service, protocol_version=hs.protocol_version)


def server_info(service: str, hs: Handshake, expect: Expectations) -> CheckResult:
    """serverInfo matches `expect`; an anonymous modern server is only a warning."""
    evidence = {"server": {"name": hs.server_name, "version": hs.server_version}}
    problems = []
    if expect.server_name is not None and hs.server_name != expect.server_name:
        problems.append(f"server name is {hs.server_name!r}, expected {expect.server_name!r}")
    if expect.server_version is not None and hs.server_version != expect.server_version:
        problems.append(f"server version is {hs.server_version!r}, expected {expect.server_version!r}")
    if problems:
        return violated("health.server_info", service, "; ".join(problems), evidence=evidence)
    if hs.server_name is None:
        return violated(
            "health.server_info",
            service,
            "the server does not identify itself (no serverInfo)",
            severity="warn",
            evidence=evidence,
        )
    return passed("health.server_info", service, **evidence)


def liveness(service: str, *, era: str, latency_s: float) -> CheckResult:
    method = "ping" if era == "legacy" else "server/discover"
    return passed("health.liveness", service, method=method, latency_s=round(latency_s, 4))


def declared_capabilities(
    service: str, capabilities: Mapping[str, Any], listing_errors: Mapping[str, str]
) -> CheckResult:
    """Every listable capability the server declares can actually be listed."""
    declared = sorted(k for k in LISTABLE_CAPABILITIES if k in capabilities)
    evidence = {"declared": sorted(capabilities), "listed": declared}
    if listing_errors:
        detail = "; ".join(f"{cap}: {err}" for cap, err in sorted(listing_errors.items()))
        return violated(
            "health.capabilities", service, f"declared capabilities that do not work: {detail}", evidence=evidence
        )
    if not declared:
        return violated(
            "health.capabilities",
            service,
            "the server declares none of tools, resources or prompts",
            severity="warn",
            evidence=evidence,
        )
    return passed("health.capabilities", service, **evidence)


def http_health(
    service: str, url: str | None, *, status: int | None, latency_s: float, error: str | None
) -> CheckResult:
    if url is None:
        return skipped("health.http_health", service, "no health_url configured")
    evidence = {"url": url, "status": status, "latency_s": round(latency_s, 4)}
    if error is not None:
        return violated("health.http_health", service, f"GET {url} failed: {error}", evidence=evidence)
    if status is None or not 200 <= status < 300:
        return violated("health.http_health", service, f"GET {url} answered {status}, expected 2xx", evidence=evidence)
    return passed("health.http_health", service, **evidence)


def stdio_hygiene(service: str, transport: str, anomalies: Sequence[str]) -> CheckResult:
    """On stdio, stdout carries JSON-RPC only: a stray print() corrupts the protocol stream."""
    if transport != "stdio":
        return skipped("health.stdio_hygiene", service, f"not a stdio service ({transport})")
    garbage = [a for a in anomalies if a.startswith("non-JSON-RPC output")]
    if garbage:
        return violated(
            "health.stdio_hygiene",
            service,
            f"{len(garbage)} line(s) on stdout were not JSON-RPC; first: {garbage[0]}",
            lines=len(garbage),
        )
    return passed("health.stdio_hygiene", service)


def stdio_exit_output(result: CheckResult, size: int, lines: Sequence[str]) -> CheckResult:
    """`health.stdio_hygiene` judged again once the session closed: what the server wrote to stdout
    on its way out (a shutdown print()) corrupts the stream of a client still reading it."""
    first = shorten(lines[0], 120, squash=True) if lines else ""
    finding = f"wrote {size} bytes of non-JSON-RPC output to stdout at exit: '{first}'"
    evidence = {**result.evidence, "exit_output_bytes": size, "exit_output_lines": len(lines)}
    if result.outcome == "pass":
        return dataclasses.replace(result, outcome="fail", severity="fail", message=finding, evidence=evidence)
    return dataclasses.replace(result, message=f"{result.message}; it also {finding}", evidence=evidence)
