"""Launched servers get the environment the inventory gives them plus a minimal base, never the
gate's whole environment (a CI runner's holds the other services' secrets)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import GOOD_SERVER, Gate, free_port

# Writes its environment to a file, then runs the good server over streamable HTTP.
RECORDER = """
import json, os, runpy, sys
out, server, port = sys.argv[1:4]
with open(out, "w") as handle:
    json.dump(dict(os.environ), handle)
sys.argv = [server, "--http", port]
runpy.run_path(server, run_name="__main__")
"""


def test_a_launched_server_sees_only_the_base_and_its_declared_environment(
    gate: Gate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = tmp_path / "recorder.py"
    recorder.write_text(RECORDER)
    seen = tmp_path / "environment.json"
    port = free_port()
    monkeypatch.setenv("OTHER_SERVICE_TOKEN", "canary-not-for-this-server")
    monkeypatch.setenv("SELFTEST_GIVEN", "declared-value")
    gate.write(
        f"""
        version: 1
        environments:
          t:
            services:
              recorded:
                transport: streamable-http
                url: "http://127.0.0.1:{port}/mcp"
                launch: ["python", "{recorder}", "{seen}", "{GOOD_SERVER}", "{port}"]
                env: {{GIVEN: "${{SELFTEST_GIVEN}}"}}
                timeout_s: 30
        """
    )
    result = gate.run_subprocess("-m", "health", "-p", "no:xdist")
    assert result.ret == 0, result.stdout.str()
    environment = json.loads(seen.read_text())
    assert environment["GIVEN"] == "declared-value"
    assert environment["PATH"] == os.environ["PATH"]
    assert "OTHER_SERVICE_TOKEN" not in environment
    assert "SELFTEST_GIVEN" not in environment  # read by the gate for ${VAR}, not handed on
