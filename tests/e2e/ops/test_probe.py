"""basb-probe as a process against a real reference MCP service: healthy, stopped, hung (SIGSTOP),
a failing smoke call, a wrong token; its own /metrics; HTTP 400 for an unknown service; a clean stop
on SIGTERM; the token never in its answers or its log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.ops.probe_stack import (
    TOKEN,
    basb_probe,
    distill_at,
    get,
    reference_service,
    write_inventory,
)
from tests.helpers import ROGUE_SERVER, free_port

HUNG_TIMEOUT_S = 2


def probe_samples(base: str, service: str, headers: dict[str, str] | None = None) -> dict[str, float]:
    """`success` and one entry per phase of one probe's answer (the client waits long: never a hang guard)."""
    status, body = get(f"{base}/probe?service={service}", 60, headers)
    assert status == 200, body
    assert TOKEN not in body
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            assert sample.labels["service"] == service
            key = "success" if sample.name == "basb_probe_success" else sample.labels["phase"]
            found[key] = sample.value
    return found


def test_probe_reads_healthy_stopped_hung_and_broken_services(tmp_path: Path) -> None:
    with reference_service(tmp_path) as (server, port):
        inventory = write_inventory(
            tmp_path,
            {
                "distill": distill_at(port, timeout_s=HUNG_TIMEOUT_S),
                "stopped": distill_at(free_port(), timeout_s=HUNG_TIMEOUT_S),
                "bad-call": {**distill_at(port), "smoke": [{"tool": "get_layers", "arguments": {"path": "no.md"}}]},
                "bad-token": {**distill_at(port), "headers": {"Authorization": "Bearer wrong"}},
            },
        )
        with basb_probe(tmp_path, inventory) as (base, log):
            healthy = probe_samples(base, "distill")
            assert healthy["success"] == 1
            assert set(healthy) == {"success", "handshake", "list", "call", "total"}

            stopped = probe_samples(base, "stopped")
            assert stopped["success"] == 0
            assert set(stopped) == {"success", "handshake", "total"}

            assert probe_samples(base, "bad-call")["success"] == 0
            assert probe_samples(base, "bad-token")["success"] == 0

            os.kill(server.pid, signal.SIGSTOP)
            try:
                hung = probe_samples(base, "distill")
                # Prometheus' scrape timeout (less half a second) bounds the probe when it is shorter
                capped = probe_samples(base, "distill", {"X-Prometheus-Scrape-Timeout-Seconds": "1.5"})
            finally:
                os.kill(server.pid, signal.SIGCONT)
            assert hung["success"] == 0
            assert set(hung) == {"success", "handshake", "total"}
            assert capped["success"] == 0
            assert probe_samples(base, "distill")["success"] == 1  # the prober is not wedged by a hung service

            status, body = get(f"{base}/probe?service=nope", 10)
            assert (status, body) == (400, "unknown service 'nope' in environment probed; "
                                           "known: bad-call, bad-token, distill, stopped\n")  # fmt: skip
            assert get(f"{base}/probe", 10)[0] == 400
            status, own = get(f"{base}/metrics", 10)
            assert status == 200
            assert "process_cpu_seconds_total" in own
            assert 'basb_probe_requests_total{result="failure",service="distill"} 2.0' in own
        text = log.read_text()
    assert "stopped: handshake: stopped (streamable-http:" in text
    assert "connection refused" in text
    assert f"distill: handshake: distill (streamable-http:http://127.0.0.1:{port}/mcp): no answer" in text
    assert f"within {HUNG_TIMEOUT_S} s" in text
    assert "within 1 s" in text  # the capped one: 1.5 s less the margin
    assert "bad-call: call get_layers:" in text
    assert "bad-token: handshake:" in text
    assert "401" in text
    assert TOKEN not in text


def test_bad_input_exits_2_with_the_file_and_the_fix(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, {"distill": distill_at(free_port())})

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "pytest_basb.cli.probe", *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, env={**os.environ, "PROBE_TOKEN": "x"})

    no_env = run(f"--inventory={inventory}", "--env=staging")
    assert no_env.returncode == 2
    assert f"{inventory}: environments.staging: no such environment" in no_env.stderr
    assert "Traceback" not in no_env.stderr
    bad_listen = run(f"--inventory={inventory}", "--env=probed", "--listen=9470")
    assert (bad_listen.returncode, bad_listen.stderr.strip()) == (
        2, "basb-probe: error: --listen must be HOST:PORT, e.g. 127.0.0.1:9470; got '9470'"
    )  # fmt: skip
    missing = run(f"--inventory={tmp_path / 'none.yaml'}", "--env=probed")
    assert missing.returncode == 2
    assert "none.yaml" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert run("--inventory", str(inventory)).returncode == 2  # --env is required


def test_probe_of_stdio_servers_that_misbehave_after_the_handshake(tmp_path: Path) -> None:
    """A call that never answers ends at the timeout (the probe reached the call phase); a crash, a
    reply too deep to parse and a huge one fail the probe; the prober answers on after each."""

    def rogue(mode: str, timeout_s: float = 10) -> dict[str, object]:
        return {
            "transport": "stdio",
            "command": [sys.executable, str(ROGUE_SERVER), "--mode", mode],
            "timeout_s": timeout_s,
            "smoke": [{"tool": "echo", "arguments": {"text": "hi"}}],
        }

    modes = ("ok", "crash-call", "deep-call", "huge", "bad-utf8-call")
    inventory = write_inventory(tmp_path, {"hang-call": rogue("hang-call", 2), **{m: rogue(m) for m in modes}})
    with basb_probe(tmp_path, inventory) as (base, log):
        hung = probe_samples(base, "hang-call")
        assert hung["success"] == 0
        assert set(hung) == {"success", "handshake", "list", "call", "total"}
        for mode in modes:
            assert probe_samples(base, mode)["success"] == (1 if mode == "ok" else 0), mode
        assert probe_samples(base, "ok")["success"] == 1
        text = log.read_text()
    assert "basb-probe: hang-call: hang-call (stdio:" in text
    assert "tools/call echo: no answer within 2s" in text
    assert "RuntimeError: rogue server crashed on tools/call" in text  # the crashed server's stderr
    assert "reply of 20971593 bytes refused" in text
