"""Self-tests of the security suite: real servers, one per deliberate fault, plus compliant ones.

Each fault must be caught by exactly its check id; the compliant server has no failure and no
warning; checks that do not apply skip with the reason; the token never reaches any output.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import GOOD_SERVER, NODE_EVERYTHING, SERVERS, Gate, free_port

SECURITY_SERVER = SERVERS / "security_server.py"
TOKEN = "kit-token-7f3a9c2e5b1d4f60"
CHECKS = (
    "auth_metadata",
    "auth_required",
    "cors",
    "origin",
    "poisoning",
    "protocol_header",
    "secrets",
    "session_ids",
    "shadowing",
    "tls",
    "token_in_query",
)
# A compliant loopback HTTP service: everything passes, TLS skips (loopback).
COMPLIANT = {**dict.fromkeys(CHECKS, "pass"), "tls": "skip"}
FAULTS = {
    "noauth": ["--fault", "no-auth"],
    "anyorigin": ["--fault", "any-origin"],
    "cors": ["--fault", "wildcard-cors"],
    "poisoned": ["--fault", "poisoned"],
    "secretinstr": ["--fault", "secret-instructions"],
    "secreterr": ["--fault", "secret-error"],
    "protoheader": ["--fault", "protocol-header"],
    "shadow": ["--fault", "shadow", "--shadow", "kit_echo"],
}
CAUGHT_BY = {
    "noauth": {"auth_required": "fail", "token_in_query": "skip"},
    "anyorigin": {"origin": "fail"},
    "cors": {"cors": "fail"},
    "poisoned": {"poisoning": "fail"},
    "secretinstr": {"secrets": "fail"},
    "secreterr": {"secrets": "fail"},
    "protoheader": {"protocol_header": "fail"},
    "shadow": {"shadowing": "fail"},
    "plain": {"tls": "fail"},
}


def non_loopback_address() -> str | None:
    """This host's address on its default route (no packet is sent), if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))
            address = str(sock.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") else address


def http_service(name: str, args: list[str], *, host: str = "127.0.0.1") -> dict[str, Any]:
    port = free_port()
    launch = [sys.executable, str(SECURITY_SERVER), "--http", str(port), "--host", host, "--name", name]
    return {
        "transport": "streamable-http",
        "url": f"http://{host}:{port}/mcp",
        "launch": [*launch, "--token-env", "KIT_TOKEN", *args],
        "headers": {"Authorization": "Bearer ${KIT_TOKEN}"},
    }


def inventory(services: dict[str, Any]) -> str:
    """JSON is YAML: no indentation to get wrong."""
    return json.dumps({"version": 1, "defaults": {"timeout_s": 30}, "environments": {"t": {"services": services}}})


def outcomes(gate: Gate) -> dict[str, dict[str, str]]:
    report = json.loads((gate.report_dir / "gate.json").read_text())
    table: dict[str, dict[str, str]] = {}
    for check in report["checks"]:
        table.setdefault(check["service"], {})[check["id"].removeprefix("security.")] = check["outcome"]
    return table


def test_each_fault_is_caught_by_exactly_its_check(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_TOKEN", TOKEN)
    services = {"kit": http_service("kit", [])} | {name: http_service(name, args) for name, args in FAULTS.items()}
    remote = non_loopback_address()
    if remote is not None:
        services["plain"] = http_service("plain", [], host=remote)
    gate.write(inventory(services))
    result = gate.run("-m", "security", "-p", "no:randomly")
    table = outcomes(gate)
    expected = {"kit": COMPLIANT}
    for name in [*FAULTS, *(["plain"] if remote else [])]:
        expected[name] = {**COMPLIANT, **CAUGHT_BY[name]}
    assert table == expected, result.stdout.str()[-3000:]

    text = result.stdout.str() + "".join(p.read_text() for p in gate.report_dir.iterdir() if p.is_file())
    assert TOKEN not in text, "the gate's token leaked into its output or reports"
    report = json.loads((gate.report_dir / "gate.json").read_text())
    by_key = {(c["service"], c["id"]): c for c in report["checks"]}
    echo = by_key[("secreterr", "security.secrets")]
    assert echo["evidence"]["findings"][0]["kind"] == "credential_echo"
    assert echo["evidence"]["owasp"] == ["MCP01"]
    poisoned = by_key[("poisoned", "security.poisoning")]
    assert "[U+200B]" in poisoned["message"]
    assert {"MCP03", "MCP06"} <= set(poisoned["evidence"]["owasp"])
    assert "kit_echo" in by_key[("shadow", "security.shadowing")]["message"]
    skip = by_key[("noauth", "security.token_in_query")]["message"]
    assert "without credentials" in skip
    security_item = next(i for i in report["gate"] if "ecurity" in i["item"])
    assert security_item["status"] == "fail"


def test_checks_that_do_not_apply_skip_with_the_reason(gate: Gate, tmp_path: Path) -> None:
    port = free_port()
    gate.write(
        inventory(
            {
                "local": {"transport": "stdio", "command": [sys.executable, str(GOOD_SERVER)]},
                "open": {
                    "transport": "streamable-http",
                    "url": f"http://127.0.0.1:{port}/mcp",
                    "launch": [sys.executable, str(SECURITY_SERVER), "--http", str(port), "--name", "open"],
                },
            }
        )
    )
    results = tmp_path / "allure-results"
    result = gate.run("-m", "security", "-p", "no:randomly", "-rs", f"--alluredir={results}")
    table = outcomes(gate)
    stdio_only = ("poisoning", "shadowing", "secrets")
    assert table["local"] == {c: ("pass" if c in stdio_only else "skip") for c in CHECKS}
    assert table["open"] == {
        **COMPLIANT,
        "auth_required": "skip",
        "token_in_query": "skip",
        "auth_metadata": "warn",
    }
    out = result.stdout.str()
    assert "security.origin [local]: stdio service: no HTTP endpoint to probe" in out
    assert "security.auth_required [open]: no credentials declared" in out
    assert "security.tls [open]: loopback only" in out
    assert "security.token_in_query [open]: no bearer token declared" in out
    raw = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    poisoning = next(r for r in raw if r["name"] == "test_poisoning[local]")
    tags = {label["value"] for label in poisoning["labels"] if label["name"] == "tag"}
    assert {"check:security.poisoning", "owasp:MCP03", "owasp:MCP06", "owasp:MCP10"} <= tags


def test_a_rejected_token_is_explained_in_every_suite(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_TOKEN", TOKEN)
    monkeypatch.setenv("WRONG_TOKEN", "wrong-token-0a1b2c3d")
    kit = http_service("kit", [])
    kit["headers"] = {"Authorization": "Bearer ${WRONG_TOKEN}"}
    gate.write(inventory({"kit": kit}))
    result = gate.run("-m", "health", "-p", "no:randomly")
    out = result.stdout.str()
    assert f"HTTP 401 from {kit['url']}: the token was rejected" in out
    assert "WWW-Authenticate: Bearer resource_metadata=" in out
    assert "wrong-token-0a1b2c3d" not in out
    assert "wrong-token-0a1b2c3d" not in (gate.report_dir / "gate.json").read_text()


@pytest.mark.skipif(not NODE_EVERYTHING.exists(), reason="npm ci --prefix tests/servers/node first")
def test_server_everything_findings(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    """The TypeScript reference server over streamable HTTP: what the suite reports, and why it is right."""
    port = free_port()
    monkeypatch.setenv("PORT", str(port))
    entry = Path(NODE_EVERYTHING) / "dist" / "index.js"
    everything = {
        "transport": "streamable-http",
        "url": f"http://127.0.0.1:{port}/mcp",
        "launch": ["node", str(entry), "streamableHttp"],
    }
    gate.write(inventory({"everything": everything}))
    gate.run("-m", "security", "-p", "no:randomly")
    table = outcomes(gate)["everything"]
    # No credentials declared: the auth checks do not apply, and an open service is a warning.
    assert table["auth_required"] == table["token_in_query"] == "skip"
    assert table["auth_metadata"] == "warn"
    # It answers a foreign Origin (the spec's MUST is 403), and `*` CORS on an unauthenticated endpoint.
    assert table["origin"] == "fail"
    assert table["cors"] == "warn"
    # An unknown session id gets 400 "No valid session ID provided", where the spec says 404.
    assert table["session_ids"] == "fail"
    assert table["protocol_header"] == "pass"
    assert table["tls"] == "skip"
