"""Drills against real reference services: one over stdio (capture), one launched over HTTP (distill).

`-m drill` stops, hangs and crashes each, the gate detects it, recovers it and checks it again; the
ledger records every drill, the service works afterwards, and the Incident item reads the evidence.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.helpers import REPO, SAMPLE_VAULT, Gate, free_port

SERVICES = REPO / "fixtures" / "services"
LOG_DIR = "agent-workspaces/DevOps/deply-notes"
INCIDENT = "Incident response protocols are in place and tested"


def _inventory(port: int, *, allowed: bool = True, launch: str | None = None) -> str:
    launch = launch or f'["{sys.executable}", "{SERVICES / "distill.py"}", "--http", "{port}"]'
    return f"""
    version: 1
    environments:
      t:
        {"drills: allowed" if allowed else "description: no drills here"}
        incident: {{drill_max_age_days: 7}}
        vault: vault
        seed_vault: {SAMPLE_VAULT}
        services:
          capture:
            transport: stdio
            command: ["{sys.executable}", "{SERVICES / "capture.py"}"]
            env: {{BASB_VAULT: "${{BASB_VAULT}}"}}
            timeout_s: 30
          distill:
            transport: streamable-http
            url: http://127.0.0.1:{port}/mcp
            launch: {launch}
            env: {{BASB_VAULT: "${{BASB_VAULT}}", BASB_TOKEN: drill-token}}
            headers: {{Authorization: "Bearer drill-token"}}
            timeout_s: 30
    """


def _ledger(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _gate_json(gate: Gate) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((gate.report_dir / "gate.json").read_text(encoding="utf-8"))
    return document


def _item(gate: Gate, name: str) -> dict[str, Any]:
    return next(g for g in _gate_json(gate)["gate"] if g["item"] == name)


def test_drills_recover_every_mode_record_them_and_leave_the_services_working(gate: Gate) -> None:
    gate.write(_inventory(free_port()))
    (gate.path / "vault").mkdir()
    # The drill suite runs before the health suite: health then proves the services work again.
    result = gate.run_subprocess("-m", "drill or health", "-v", timeout=600)
    assert result.ret == 0, result.stdout.str()[-3000:]
    order = [line for line in result.stdout.lines if "::test_" in line and "PASSED" in line]
    last_drill = max(i for i, line in enumerate(order) if "test_drill_" in line)
    handshakes = [i for i, line in enumerate(order) if "test_handshake[" in line]
    assert len(handshakes) == 2
    assert min(handshakes) > last_drill, "health ran before the drills: it proves nothing about recovery"

    ledger = gate.report_dir / "drills.jsonl"
    records = _ledger(ledger)
    assert sorted((r["service"], r["mode"]) for r in records) == sorted(
        (s, m) for s in ("capture", "distill") for m in ("stopped", "hung", "crashed")
    )
    for record in records:
        assert record["outcome"] == "pass", record
        assert record["alerted_s"] is None  # no monitoring.alertmanager_url
        assert 0 <= record["detected_s"] <= record["recovered_s"], record
        assert record["runbook"].endswith(f"incidents/{record['mode']}.md")
        assert set(record) >= {"service", "mode", "started", "detected_s", "alerted_s", "recovered_s", "runbook"}
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o644
    vault_logs = gate.path / "vault" / LOG_DIR
    assert _ledger(vault_logs / "drills.jsonl") == records
    daily = next(vault_logs.glob("*dev-ops-log.md")).read_text(encoding="utf-8")
    drills = daily.split("**🧯 Drills**", 1)[1]  # a section of the run's folded details
    assert "hung on `capture`" in drills
    assert "MTTD" in drills
    assert "MTTR" in drills
    assert _item(gate, INCIDENT)["status"] == "pass"
    document = _gate_json(gate)
    Draft202012Validator(json.loads((REPO / "schemas" / "gate-report.schema.json").read_text())).validate(document)
    assert document["incident"] == {"drill_max_age_days": 7, "ledgers": [str(ledger), str(vault_logs / "drills.jsonl")]}

    # A team's own runbook for one service and mode that is empty: the item names it.
    team = gate.path / "docs" / "runbooks" / "incidents"
    team.mkdir(parents=True)
    (team / "capture.hung.md").write_text("")
    result = gate.run_subprocess("-m", "health", "-k", "handshake", timeout=300)
    assert result.ret == 0, result.stdout.str()[-3000:]
    item = _item(gate, INCIDENT)
    assert item["status"] == "fail"
    assert item["evidence"] == [f"capture hung: runbook {team / 'capture.hung.md'} is empty"]


def test_a_drill_that_cannot_recover_fails_and_blocks_the_service(gate: Gate, tmp_path: Path) -> None:
    port = free_port()
    once = tmp_path / "launched-once"
    # Starts the server the first time only: the drill's relaunch fails.
    script = (
        f"import os, sys; m = {str(once)!r}; os.path.exists(m) and sys.exit(3); open(m, 'w').close(); "
        f"os.execv(sys.executable, [sys.executable, {str(SERVICES / 'distill.py')!r}, '--http', '{port}'])"
    )
    gate.write(_inventory(port, launch=json.dumps([sys.executable, "-c", script])))
    result = gate.run_subprocess("-m", "drill or health", "-k", "distill and (stopped or handshake)", timeout=300)
    assert result.ret == 1
    checks = {c["id"]: c for c in _gate_json(gate)["checks"] if c["service"] == "distill"}
    assert checks["drill.stopped"]["outcome"] == "fail"
    assert "not recovered" in checks["drill.stopped"]["message"]
    assert checks["health.handshake"]["outcome"] in ("fail", "skip")
    assert "drill.stopped" in checks["health.handshake"]["message"]
    (record,) = _ledger(gate.report_dir / "drills.jsonl")
    assert record["outcome"] == "fail"
    assert record["recovered_s"] is None
    assert record["detected_s"] is not None
    evidence = _item(gate, INCIDENT)["evidence"]
    assert any(line.startswith("distill stopped: last drill failed on ") for line in evidence), evidence


def test_an_environment_without_drills_allowed_refuses(gate: Gate) -> None:
    gate.write(_inventory(free_port(), allowed=False))
    result = gate.run_subprocess("-m", "drill", "-k", "capture", "-rs", timeout=300)
    result.assert_outcomes(skipped=3)
    assert "not marked `drills: allowed` (environments.t.drills" in result.stdout.str()
    assert not (gate.report_dir / "drills.jsonl").exists()


@pytest.mark.parametrize(
    ("marker", "drills"),
    [(None, 0), ("smoke", 0), ("not regression", 0), ("health or drill", 6), ("drill", 6)],
)
def test_drills_run_only_when_m_names_them(gate: Gate, marker: str | None, drills: int) -> None:
    gate.write(_inventory(free_port()))
    args = [a for a in gate.args("--collect-only", "-q") if a not in ("-m", "not regression")]
    result = gate.pytester.runpytest(*args, *(["-m", marker] if marker else []))
    collected = [line for line in result.stdout.lines if "test_drill_" in line]
    assert len(collected) == drills, result.stdout.str()


@pytest.mark.xdist_group("docker")
def test_container_drills_stop_pause_kill_and_bring_the_container_back(gate: Gate) -> None:
    from pytest_basb.targets.containers import EngineUnavailable, engine_client

    try:
        client = engine_client()
    except EngineUnavailable as exc:
        if os.environ.get("BASB_REQUIRE_DOCKER"):
            pytest.fail(f"BASB_REQUIRE_DOCKER is set (CI) but: {exc}")
        pytest.skip(f"no Docker engine: {exc}")
    if not client.images.list(name="basb/capture:1.0"):
        pytest.fail("reference image basb/capture:1.0 missing; build it with `make images`")
    client.close()
    gate.write(
        f"""
        version: 1
        environments:
          t:
            drills: allowed
            seed_vault: {SAMPLE_VAULT}
            services:
              capture:
                transport: stdio
                command: ["{sys.executable}", "{SERVICES / "capture.py"}"]
                env: {{BASB_VAULT: "${{BASB_VAULT}}"}}
                timeout_s: 30
                container: {{image: "basb/capture:1.0", port: 8930, path: /mcp}}
        """
    )
    result = gate.run_subprocess("--basb-target=containers", "-m", "drill or health", "-v", timeout=600)
    assert result.ret == 0, result.stdout.str()[-3000:]
    records = _ledger(gate.report_dir / "drills.jsonl")
    assert [(r["mode"], r["outcome"]) for r in records] == [("stopped", "pass"), ("hung", "pass"), ("crashed", "pass")]
    checks = {c["id"]: c["outcome"] for c in _gate_json(gate)["checks"]}
    assert checks["health.handshake"] == "pass"  # after the drills, on the container they restarted
