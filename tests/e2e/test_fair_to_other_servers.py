"""The gate is fair to servers it did not write: real servers, what the official SDKs and real
deployments do, judged as faults only when they are.

Shared tool names warn and deception fails (security.shadowing); a large answer passes over every
transport; a capability the server does not declare is a skip even after its session broke; an
unknown tool answered with an isError result passes; SSE message endpoints refuse unknown session
ids; a launched Python server's start-up print() is seen (it runs unbuffered).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from tests.helpers import GOOD_SERVER, ROGUE_SERVER, SERVERS, Gate, free_port

SECURITY_SERVER = SERVERS / "security_server.py"


def inventory(services: dict[str, Any]) -> str:
    return json.dumps({"version": 1, "defaults": {"timeout_s": 90}, "environments": {"t": {"services": services}}})


def checks(gate: Gate) -> dict[tuple[str, str], dict[str, Any]]:
    report = json.loads((gate.report_dir / "gate.json").read_text())
    return {(c["service"], c["id"]): c for c in report["checks"]}


def security_server(name: str, *args: str, sse: bool = False) -> dict[str, Any]:
    port = free_port()
    path = "sse" if sse else "mcp"
    launch = [sys.executable, str(SECURITY_SERVER), "--http", str(port), "--name", name, *args]
    return {
        "transport": "sse" if sse else "streamable-http",
        "url": f"http://127.0.0.1:{port}/{path}",
        "launch": [*launch, *(["--sse"] if sse else [])],
    }


def test_shared_names_warn_and_deception_fails(gate: Gate) -> None:
    services = {
        "kit": security_server("kit"),
        "share": security_server("share", "--fault", "share", "--shadow", "kit_echo"),
        "deceive": security_server("deceive", "--fault", "deceive", "--shadow", "kit_echo"),
        "lookalike": security_server("lookalike", "--fault", "lookalike", "--shadow", "kit_echo"),
    }
    gate.write(inventory(services))
    gate.run("-m", "security", "-k", "shadowing", "-p", "no:randomly")
    found = checks(gate)
    outcome = {name: found[(name, "security.shadowing")]["outcome"] for name in services}
    assert outcome == {"kit": "warn", "share": "warn", "deceive": "fail", "lookalike": "fail"}
    shared = found[("share", "security.shadowing")]["message"]
    assert "tool of both share and kit" in shared
    assert (
        "names kit's tool kit_echo and tells the model what to do with it"
        in found[("deceive", "security.shadowing")]["message"]
    )
    lookalike = found[("lookalike", "security.shadowing")]["message"]
    assert "looks like kit's tool 'kit_echo'" in lookalike
    assert "CYRILLIC SMALL LETTER" in lookalike


def test_a_large_resource_passes_over_streamable_http_and_sse(gate: Gate) -> None:
    services = {}
    for transport, flag, path in (("streamable-http", "--http", "mcp"), ("sse", "--sse", "sse")):
        port = free_port()
        services[transport.replace("streamable-", "")] = {
            "transport": transport,
            "url": f"http://127.0.0.1:{port}/{path}",
            "launch": [sys.executable, str(GOOD_SERVER), flag, str(port), "--big-resource", "4.5"],
        }
    gate.write(inventory(services))
    result = gate.run("-m", "smoke", "-k", "resources", "-p", "no:randomly")
    found = checks(gate)
    for name in services:
        check = found[(name, "smoke.resources_read")]
        assert check["outcome"] == "pass", (name, check["message"], result.stdout.str()[-2000:])
        assert check["evidence"]["count"] == 2


def test_an_undeclared_capability_is_a_skip_after_the_session_broke(gate: Gate) -> None:
    argv = [sys.executable, str(ROGUE_SERVER), "--mode", "huge"]
    huge = {"transport": "stdio", "timeout_s": 10, "command": argv, "smoke": [{"tool": "echo", "arguments": {}}]}
    gate.write(inventory({"huge": huge}))
    gate.run("-m", "smoke", "-p", "no:randomly")
    found = checks(gate)
    assert found[("huge", "smoke.call")]["outcome"] == "fail"  # 20 MB: over the reply limit, the session broke
    for check_id, capability in (("smoke.prompts_get", "prompts"), ("smoke.resources_read", "resources")):
        assert found[("huge", check_id)]["outcome"] == "skip", found[("huge", check_id)]
        assert found[("huge", check_id)]["message"] == f"no {capability} capability"
    assert found[("huge", "smoke.unknown_tool")]["message"].startswith("blocked by smoke.call")


def test_an_unknown_tool_answered_with_is_error_passes_with_a_note(gate: Gate) -> None:
    gate.write(inventory({"rogue": {"transport": "stdio", "command": [sys.executable, str(ROGUE_SERVER)]}}))
    gate.run("-m", "smoke", "-k", "unknown_tool")
    check = checks(gate)[("rogue", "smoke.unknown_tool")]
    assert check["outcome"] == "pass"
    assert check["evidence"]["is_error"] is True
    assert "isError" in check["evidence"]["note"]


def test_sse_message_endpoints_refuse_unknown_session_ids(gate: Gate) -> None:
    services = {
        "sse": security_server("sse", sse=True),
        "routes": security_server("routes", "--fault", "any-session", sse=True),
    }
    gate.write(inventory(services))
    gate.run("-m", "security", "-k", "session_ids", "-p", "no:randomly")
    found = checks(gate)
    assert found[("sse", "security.session_ids")]["outcome"] == "pass", found[("sse", "security.session_ids")]
    routed = found[("routes", "security.session_ids")]
    assert routed["outcome"] == "fail"
    assert "ping with an unknown session_id got HTTP 202: accepted, not refused" in routed["message"]


def test_a_start_up_print_of_a_python_server_is_seen(gate: Gate) -> None:
    argv = [sys.executable, str(GOOD_SERVER), "--print-at-start"]
    gate.write(inventory({"chatty": {"transport": "stdio", "command": argv}}))
    gate.run("-m", "health", "-k", "stdio_hygiene")
    check = checks(gate)[("chatty", "health.stdio_hygiene")]
    assert check["outcome"] == "fail"
    assert "good_server: starting up" in check["message"]
