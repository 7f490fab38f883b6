"""The gate against real servers: transports, protocol eras, markers, xdist, secrets, inertness."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import GOOD_SERVER, NODE_EVERYTHING, ROGUE_SERVER, Gate, free_port


def stdio_inventory(extra: str = "") -> str:
    return f"""
    version: 1
    environments:
      t:
        services:
          kit:
            transport: stdio
            command: ["python", "{GOOD_SERVER}"]
            expect: {{server_name: basb-testkit, server_version: "1.2.3", tools: [echo, add]}}
            smoke:
              - tool: echo
                arguments: {{text: hello}}
              - tool: fail_always
                expect: {{is_error: true}}
              - prompt: summarize
                arguments: {{topic: notes}}
{extra}"""


def gate_results(gate: Gate) -> dict[str, str]:
    """(check id, service, nodeid tail) -> outcome, from the gate.json the run wrote."""
    data = json.loads((gate.report_dir / "gate.json").read_text())
    return {f"{c['service']}::{c['nodeid'].split('::')[-1]}": c["outcome"] for c in data["checks"]}


def test_stdio_service_passes_health_and_smoke(gate: Gate) -> None:
    gate.write(stdio_inventory())
    result = gate.run("-m", "smoke")
    # skipped: http_health (no health_url), monitoring.metrics (no metrics_url), basb.contract (no role)
    # and the 4 monitoring-stack tests (no `monitoring:` block: each skip says to add one)
    result.assert_outcomes(passed=15, skipped=7)
    result.stdout.fnmatch_lines(["not evaluated: Monitoring and alerting * — no monitoring.targets*add `monitoring:*"])
    result.stdout.fnmatch_lines(["*BASB quality gate*"])
    assert result.ret == 0


def test_health_marker_selects_only_the_health_suite(gate: Gate) -> None:
    gate.write(stdio_inventory())
    result = gate.run("-m", "health", "-v")
    result.stdout.fnmatch_lines(["*test_handshake?kit? PASSED*", "*test_liveness?kit? PASSED*"])
    assert "test_smoke.py" not in result.stdout.str()


def test_launched_http_and_sse_services(gate: Gate) -> None:
    http, sse = free_port(), free_port()
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          web:
            transport: streamable-http
            url: http://127.0.0.1:{http}/mcp
            launch: ["python", "{GOOD_SERVER}", "--http", "{http}"]
            health_url: http://127.0.0.1:{http}/healthz
            smoke: [{{tool: add, arguments: {{a: 2, b: 3}}}}]
          events:
            transport: sse
            url: http://127.0.0.1:{sse}/sse
            launch: ["python", "{GOOD_SERVER}", "--sse", "{sse}"]
    """)
    result = gate.run("-v")
    result.stdout.fnmatch_lines(
        [
            "*test_liveness?events? PASSED*",
            "*test_http_health?web? PASSED*",
            "*test_declared_call?web:add? PASSED*",
        ]
    )
    assert result.ret == 0
    # Launched servers are stopped with the run: the ports are free again.
    for port in (http, sse):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_protocol_eras_and_allowed_versions(gate: Gate) -> None:
    """A 2026-07-28 server (discover) and a 2025-era server (initialize + ping) both pass; the
    negotiated version is checked against protocol_versions."""
    gate.write(f"""
    version: 1
    defaults: {{protocol_versions: ["2025-11-25", "2026-07-28"]}}
    environments:
      t:
        services:
          modern: {{transport: stdio, command: ["python", "{GOOD_SERVER}"]}}
          legacy: {{transport: stdio, command: ["python", "{ROGUE_SERVER}"]}}
          old:
            transport: stdio
            command: ["python", "{ROGUE_SERVER}", "--mode", "bad-version"]
    """)
    gate.run("-m", "health")
    data = json.loads((gate.report_dir / "gate.json").read_text())
    by = {(c["service"], c["id"]): c for c in data["checks"]}
    assert by[("modern", "health.handshake")]["evidence"]["protocol_version"] == "2026-07-28"
    assert by[("modern", "health.liveness")]["evidence"]["method"] == "server/discover"
    assert by[("legacy", "health.handshake")]["evidence"]["protocol_version"] == "2025-11-25"
    assert by[("legacy", "health.liveness")]["evidence"]["method"] == "ping"
    assert by[("legacy", "health.protocol_version")]["outcome"] == "pass"
    # The SDK refuses the version at connect: the handshake carries the cause and says which version;
    # the version check itself is blocked by it (one failure per cause).
    old = by[("old", "health.handshake")]
    assert old["outcome"] == "fail"
    assert "2024-01-01" in old["message"]
    assert by[("old", "health.protocol_version")]["blocked_by"] == "health.handshake"


def test_serial_and_parallel_runs_agree(gate: Gate) -> None:
    gate.write(
        stdio_inventory(f"""
          legacy: {{transport: stdio, command: ["python", "{ROGUE_SERVER}", "--mode", "bad-schema"]}}
""")
    )
    serial = gate.run_subprocess()
    first = gate_results(gate)
    parallel = gate.run_subprocess("-n", "2")
    second = gate_results(gate)
    assert serial.ret == parallel.ret == 1
    assert first == second
    assert first["legacy::test_tool_schemas[legacy]"] == "fail"
    assert first["legacy::test_tool_names[legacy]"] == "warn"


@pytest.mark.skipif(not NODE_EVERYTHING.exists(), reason="npm server not installed (make test installs it)")
def test_server_from_another_sdk(gate: Gate) -> None:
    """The TypeScript SDK's reference server, installed from npm, passes health and smoke."""
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          everything:
            transport: stdio
            command: ["node", "{NODE_EVERYTHING / "dist" / "index.js"}", "stdio"]
            timeout_s: 20
            expect: {{tools: [echo]}}
            smoke: [{{tool: echo, arguments: {{message: hi}}}}]
    """)
    result = gate.run("-v")
    result.stdout.fnmatch_lines(["*test_handshake?everything? PASSED*", "*test_declared_call?everything:echo? PASSED*"])
    data = json.loads((gate.report_dir / "gate.json").read_text())
    handshake = next(c for c in data["checks"] if c["id"] == "health.handshake")
    assert handshake["evidence"]["era"] == "legacy"


def test_secrets_never_appear_in_output_or_reports(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "tok-9f8e7d6c5b4a-secret"
    monkeypatch.setenv("BASB_SELFTEST_TOKEN", token)
    port = free_port()
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          guarded:
            transport: streamable-http
            url: http://127.0.0.1:{port}/mcp
            launch: ["python", "{GOOD_SERVER}", "--http", "{port}", "--require-token", "BASB_SELFTEST_TOKEN"]
            # A launched server sees only what the inventory gives it, never the gate's environment.
            env: {{BASB_SELFTEST_TOKEN: "${{BASB_SELFTEST_TOKEN}}"}}
            headers: {{Authorization: "Bearer ${{BASB_SELFTEST_TOKEN}}"}}
            smoke: [{{tool: echo, arguments: {{text: "${{BASB_SELFTEST_TOKEN}}"}}}}]
            # A wrong expectation built from the secret: its failure message must mask it.
            expect: {{server_name: "${{BASB_SELFTEST_TOKEN}}"}}
    """)
    result = gate.run("-v", "-rA", f"--junitxml={gate.path / 'junit.xml'}")
    result.stdout.fnmatch_lines(["*test_server_info?guarded? FAILED*", "*test_declared_call?guarded:echo? PASSED*"])
    everything = result.stdout.str() + result.stderr.str()
    for path in [*gate.report_dir.rglob("*"), gate.path / "junit.xml"]:
        if path.is_file():
            everything += path.read_text(errors="replace")
    assert token not in everything
    assert "expected '***'" in everything  # masked where it would have shown, not dropped


def test_plugin_is_inert_without_an_environment(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert True\n")
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers", "--strict-config")
    result.assert_outcomes(passed=1)
    assert "BASB" not in result.stdout.str()
    # Nothing heavy is imported by loading the plugin.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pytest_basb.plugin; print('mcp' in sys.modules, 'jsonschema' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    assert probe.stdout.split() == ["False", "False"]


def test_strict_markers_and_config_pass_with_the_plugin(gate: Gate) -> None:
    gate.write(stdio_inventory())
    result = gate.run("-m", "health", "--strict-markers", "--strict-config")
    assert result.ret == 0


def test_report_dir_written(gate: Gate) -> None:
    gate.write(stdio_inventory())
    gate.run("-m", "health")
    assert (gate.report_dir / "gate.json").exists()
    assert isinstance(Path, type)


def test_listing_follows_pagination_and_expect_schema_is_enforced(gate: Gate) -> None:
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          paged:
            transport: stdio
            command: ["python", "{ROGUE_SERVER}", "--mode", "paginate"]
          kit:
            transport: stdio
            command: ["python", "{GOOD_SERVER}"]
            smoke:
              - tool: add
                arguments: {{a: 1, b: 2}}
                expect: {{schema: {{type: object, properties: {{sum: {{const: 4}}}}}}}}
    """)
    gate.run("-m", "smoke")
    data = json.loads((gate.report_dir / "gate.json").read_text())
    by = {(c["service"], c["id"]): c for c in data["checks"]}
    listed = by[("paged", "smoke.tools_listed")]
    assert (listed["evidence"]["count"], listed["evidence"]["pages"]) == (25, 3)
    call = by[("kit", "smoke.call")]
    assert call["outcome"] == "fail"
    assert "expect.schema" in call["message"]
    assert data["verdict"] == "fail"


def test_a_launch_that_fails_fails_only_that_service(gate: Gate, tmp_path: Path) -> None:
    crasher = tmp_path / "crasher.py"
    crasher.write_text("import sys\nprint('port already in use, giving up', file=sys.stderr)\nsys.exit(7)\n")
    port = free_port()
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          kit: {{transport: stdio, command: ["python", "{GOOD_SERVER}"]}}
          broken:
            transport: streamable-http
            url: http://127.0.0.1:{port}/mcp
            launch: ["python", "{crasher}"]
    """)
    result = gate.run("-m", "health", "-n", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    data = json.loads((gate.report_dir / "gate.json").read_text())
    handshakes = {c["service"]: c for c in data["checks"] if c["id"] == "health.handshake"}
    assert handshakes["kit"]["outcome"] == "pass"
    broken = handshakes["broken"]
    assert broken["outcome"] == "fail"
    assert "exited with code 7" in broken["message"]
    assert "port already in use" in broken["message"]


def test_one_session_and_one_listing_per_service_per_process(gate: Gate, tmp_path: Path) -> None:
    """Every check of a service shares one session and one tools/list walk (list once, check many)."""
    methods = tmp_path / "methods.log"
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          legacy:
            transport: stdio
            command: ["python", "{ROGUE_SERVER}", "--method-log", "{methods}"]
            smoke: [{{tool: echo, arguments: {{text: hi}}}}]
    """)
    result = gate.run("-m", "health or smoke")
    assert result.ret == 0, result.stdout.str()[-2000:]
    sent = methods.read_text().split()
    assert sent.count("initialize") == 1
    assert sent.count("tools/list") == 1
    assert sent.count("tools/call") == 2  # the declared smoke call and the unknown-tool probe
