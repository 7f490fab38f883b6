"""A declared flow across two servers no one here wrote: the time server from PyPI (Python SDK)
gives a timestamp, the memory server from npm (TypeScript SDK) stores it, finds it with retry and
deletes it again; the clean-up runs after a failing step too, so no data is left behind."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.helpers import NODE_MEMORY, Gate

TIME_SERVER = Path(sys.executable).parent / "mcp-server-time"  # the dev extras install it


def inventory(memory_file: Path, expect_found: str) -> str:
    return f"""
        version: 1
        environments:
          t:
            services:
              time:
                transport: stdio
                command: ["{TIME_SERVER}", "--local-timezone", "UTC"]
                timeout_s: 60
              memory:
                transport: stdio
                command: ["node", "{NODE_MEMORY / "dist" / "index.js"}"]
                env: {{MEMORY_FILE_PATH: "{memory_file}"}}
                timeout_s: 60
            flows:
              stamp-then-find:
                steps:
                  - id: now
                    service: time
                    tool: get_current_time
                    arguments: {{timezone: "UTC"}}
                    save: {{stamp: /structuredContent/datetime}}
                  - id: write
                    service: memory
                    tool: create_entities
                    arguments:
                      entities:
                        - name: "gate-{{{{ uid }}}}"
                          entityType: probe
                          observations: ["at {{{{ steps.now.stamp }}}}"]
                    expect: {{is_error: false}}
                  - id: find
                    service: memory
                    tool: search_nodes
                    arguments: {{query: "gate-{{{{ uid }}}}"}}
                    retry: {{within_s: 3, every_s: 0.5}}
                    expect: {{contains: "{expect_found}"}}
                  - id: clean
                    service: memory
                    tool: delete_entities
                    arguments: {{entityNames: ["gate-{{{{ uid }}}}"]}}
                    always: true
        """


def flow_check(gate: Gate) -> dict[str, object]:
    checks = json.loads((gate.report_dir / "gate.json").read_text())["checks"]
    (flow,) = [c for c in checks if c["id"] == "flow.stamp-then-find"]
    return dict(flow)


@pytest.mark.skipif(not NODE_MEMORY.is_dir(), reason="npm server-memory not installed (make test installs it)")
def test_a_flow_across_a_pypi_and_an_npm_server_writes_finds_and_cleans_up(gate: Gate, tmp_path: Path) -> None:
    memory = tmp_path / "memory.jsonl"
    gate.write(inventory(memory, "{{ steps.now.stamp }}"))
    result = gate.run_subprocess("-m", "flow", "-p", "no:xdist", timeout=300)
    assert result.ret == 0, result.stdout.str()[-3000:]
    flow = flow_check(gate)
    assert flow["outcome"] == "pass"
    evidence = flow["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["wrote_data"] is True
    assert evidence["cleanup_passed"] is True
    assert [s["service"] for s in evidence["steps"]] == ["time", "memory", "memory", "memory"]
    assert "gate-" not in (memory.read_text() if memory.exists() else "")  # nothing left behind


@pytest.mark.skipif(not NODE_MEMORY.is_dir(), reason="npm server-memory not installed (make test installs it)")
def test_a_failing_step_names_itself_and_the_clean_up_still_runs(gate: Gate, tmp_path: Path) -> None:
    memory = tmp_path / "memory.jsonl"
    gate.write(inventory(memory, "never-in-the-answer"))
    result = gate.run_subprocess("-m", "flow", "-p", "no:xdist", timeout=300)
    assert result.ret == 1, result.stdout.str()[-3000:]
    flow = flow_check(gate)
    assert flow["outcome"] == "fail"
    message = str(flow["message"])
    assert "find" in message
    assert "search_nodes" in message
    assert "never-in-the-answer" in message
    evidence = flow["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["cleanup_passed"] is True
    assert "gate-" not in (memory.read_text() if memory.exists() else "")
