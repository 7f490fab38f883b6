"""Check policy, waivers, secret-only masking and layered runbooks, in real gate runs against real servers.

`expires` is inclusive: a waiver that expires today still applies, one that expired yesterday does
not (and the failure's message names it). A run judges every waiver against the day it started.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import GOOD_SERVER, REPO, Gate, free_port

TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)

# health.server_info and smoke.expected_surface fail on this service: the expectations are wrong.
FAILING_KIT = f"""
          kit:
            transport: stdio
            command: ["python", "{GOOD_SERVER}"]
            expect: {{server_name: wrong-name, tools: [no_such_tool]}}"""


def _gate_json(gate: Gate) -> dict[str, object]:
    from jsonschema import Draft202012Validator

    data: dict[str, object] = json.loads((gate.report_dir / "gate.json").read_text())
    schema = json.loads((REPO / "schemas" / "gate-report.schema.json").read_text())
    Draft202012Validator(schema).validate(data)
    return data


def _checks(data: dict[str, object]) -> dict[str, dict[str, object]]:
    checks = data["checks"]
    assert isinstance(checks, list)
    return {f"{c['id']} {c['service']}": c for c in checks}


def test_warn_off_and_an_active_waiver_pass_the_gate_and_every_report_shows_them(gate: Gate, tmp_path: Path) -> None:
    vault, alluredir = tmp_path / "vault", tmp_path / "allure"
    vault.mkdir()
    gate.write(f"""
    version: 1
    defaults:
      policy: {{checks: {{health.server_info: warn}}}}
    environments:
      t:
        policy: {{checks: {{health.liveness: off}}}}
        waivers:
          - check: smoke.expected_surface
            service: kit
            reason: "OPS-1 the tool is renamed in the next release"
            expires: {TODAY.isoformat()}
          - {{check: "health.protocol_*", reason: "nothing fails here", expires: 2099-01-01}}
        services:{FAILING_KIT}
    """)
    result = gate.run("-m", "health or smoke", "-rs", f"--basb-vault={vault}", f"--alluredir={alluredir}")
    assert result.ret == 0
    outcomes = result.parseoutcomes()
    assert "failed" not in outcomes
    result.stdout.fnmatch_lines(
        [
            "*BASB quality gate*",
            "kit *pass(warn)*waived*",
            "waived: smoke.expected_surface on kit until * — OPS-1 the tool is renamed in the next release",
            "waiver expiring: smoke.expected_surface on kit, expires *, matched 1 (environments.t.waivers.0)*",
            "waiver stale: health.protocol_*, expires 2099-01-01, matched 0 *",
            "policy: health.server_info → warn (defaults)",
            "policy: health.liveness → off (environment t)",
            "verdict: PASS (t)*",
            "SKIPPED * off by policy (environment t: health.liveness)",
        ]
    )

    data = _gate_json(gate)
    assert data["verdict"] == "pass"
    checks = _checks(data)
    info = checks["health.server_info kit"]
    assert info["outcome"] == "warn"
    assert info["policy"] == {"level": "warn", "source": "defaults: health.server_info"}
    assert "reported as a warning by policy" in str(info["message"])
    liveness = checks["health.liveness kit"]
    assert liveness["outcome"] == "skip"
    assert liveness["message"] == "off by policy (environment t: health.liveness)"
    surface = checks["smoke.expected_surface kit"]
    assert surface["outcome"] == "waived"  # never "pass"
    assert surface["waiver"] == {
        "reason": "OPS-1 the tool is renamed in the next release",
        "expires": TODAY.isoformat(),
        "source": "environments.t.waivers.0",
        "state": "expiring",
    }
    assert checks["health.handshake kit"]["policy"] == {"level": "block", "source": "default"}
    summary = data["summary"]
    assert isinstance(summary, dict)
    assert summary["waived"] == 1
    assert data["waivers"] == [
        {
            "check": "smoke.expected_surface",
            "service": "kit",
            "reason": "OPS-1 the tool is renamed in the next release",
            "expires": TODAY.isoformat(),
            "source": "environments.t.waivers.0",
            "matched": 1,
            "state": "expiring",
        },
        {
            "check": "health.protocol_*",
            "service": "*",
            "reason": "nothing fails here",
            "expires": "2099-01-01",
            "source": "environments.t.waivers.1",
            "matched": 0,
            "state": "stale",
        },
    ]
    assert {(p["check"], p["level"], p["source"]) for p in data["policy"]} == {  # type: ignore[attr-defined]
        ("health.server_info", "warn", "defaults"),
        ("health.liveness", "off", "environment t"),
    }

    md = (gate.report_dir / "gate.md").read_text()
    assert "## Waived failures" in md
    assert "OPS-1 the tool is renamed in the next release" in md
    assert f"waived until {TODAY.isoformat()}" in md
    assert "| `health.protocol_*` | `*` | stale | 2099-01-01 | 0 |" in md
    assert "`health.liveness` → off (set in environment t)" in md

    events = [json.loads(line) for line in (gate.report_dir / "events.jsonl").read_text().splitlines()]
    waived = next(e for e in events if e["basb"]["check"]["id"] == "smoke.expected_surface")
    assert waived["basb"]["check"]["outcome"] == "waived"
    assert waived["basb"]["check"]["waiver"]["expires"] == TODAY.isoformat()
    assert "OPS-1" in waived["message"]

    metrics = (gate.report_dir / "metrics.prom").read_text()
    assert 'basb_check_results{check="smoke.expected_surface",environment="t",outcome="waived",service="kit"} 1.0' in (
        metrics
    )
    assert 'basb_waivers{environment="t",state="stale"} 1.0' in metrics

    log = next((vault / "agent-workspaces" / "DevOps" / "deply-notes").glob("* dev-ops-log.md")).read_text()
    section = log.split("> - **🧾 Waivers in force**", 1)[1].split("> - **📋 Tomorrow's Plan**", 1)[0]
    assert "`smoke.expected_surface` on `kit`: expiring" in section
    assert "waived: `smoke.expected_surface` on `kit` until" in section
    assert "stale" in section

    labels = [
        label
        for path in alluredir.glob("*-result.json")
        for label in json.loads(path.read_text()).get("labels", [])
        if label["name"] == "waiver"
    ]
    assert labels == [{"name": "waiver", "value": f"OPS-1 the tool is renamed in the next release (until {TODAY})"}]


def test_an_expired_waiver_no_longer_applies_and_the_failure_names_it(gate: Gate) -> None:
    gate.write(f"""
    version: 1
    environments:
      t:
        waivers:
          - {{check: "smoke.expected_*", reason: "OPS-1 rename", expires: {YESTERDAY.isoformat()}}}
        services:{FAILING_KIT}
    """)
    result = gate.run("-m", "smoke")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            f"*smoke.expected_surface [[]kit]: missing: tool no_such_tool — waiver environments.t.waivers.0 "
            f"(smoke.expected_*, expires {YESTERDAY}) has expired and no longer applies (reason was: OPS-1 rename)",
            f"waiver expired: smoke.expected_*, expires {YESTERDAY}, matched 1 *",
            "verdict: FAIL (t)*",
        ]
    )
    data = _gate_json(gate)
    surface = _checks(data)["smoke.expected_surface kit"]
    assert surface["outcome"] == "fail"
    assert surface["waiver"] == {
        "reason": "OPS-1 rename",
        "expires": YESTERDAY.isoformat(),
        "source": "environments.t.waivers.0",
        "state": "expired",
    }
    waivers = data["waivers"]
    assert isinstance(waivers, list)
    assert [w["state"] for w in waivers] == ["expired"]


def test_warn_accepts_a_service_that_never_starts_and_the_verdict_passes(gate: Gate) -> None:
    """Failures raised inside a check (a dead server), not judged by it, are accepted by `warn` too."""
    gate.write("""
    version: 1
    environments:
      t:
        services:
          down:
            transport: stdio
            command: ["python", "-c", "import sys; sys.exit(3)"]
            policy: {checks: {"*": warn}}
    """)
    result = gate.run("-m", "health")
    assert result.ret == 0
    assert "failed" not in result.parseoutcomes()
    result.stdout.fnmatch_lines(["policy: * → warn on down (service down)", "verdict: PASS (t)*"])
    handshake = _checks(_gate_json(gate))["health.handshake down"]
    assert handshake["outcome"] == "warn"
    assert handshake["policy"] == {"level": "warn", "source": "service down: *"}


def test_a_team_runbook_adds_to_the_shipped_ones(gate: Gate) -> None:
    team = gate.path / "docs" / "runbooks"
    team.mkdir(parents=True)
    (team / "health.server_info.md").write_text("# health.server_info — our own\n")
    gate.write(f"""
    version: 1
    environments:
      t:
        services:{FAILING_KIT}
    """)
    result = gate.run("-m", "health or smoke")
    result.stdout.fnmatch_lines(
        [
            f"failing: health.server_info on kit — runbook: {team / 'health.server_info.md'}",
            "failing: smoke.expected_surface on kit — runbook: */docs/runbooks/smoke.expected_surface.md",
        ]
    )
    data = _gate_json(gate)
    incident = next(g for g in data["gate"] if g["item"].startswith("Incident"))  # type: ignore[attr-defined]
    # No failing check lacks a runbook: the one without a team runbook kept its shipped one. Without
    # `incident:` no drill evidence is asked for, so the item is not evaluated (never pass, never fail).
    assert incident["status"] == "not evaluated"
    assert f"runbook: {team / 'health.server_info.md'}" in incident["evidence"]
    assert any(line.endswith("docs/runbooks/smoke.expected_surface.md") for line in incident["evidence"])
    assert data["runbook_dirs"][0] == str(team)  # type: ignore[index]
    assert len(data["runbook_dirs"]) == 2  # type: ignore[arg-type]


def test_an_unknown_check_id_in_a_policy_is_an_inventory_error(gate: Gate) -> None:
    gate.write(f"""
    version: 1
    environments:
      t:
        policy: {{checks: {{smoke.unknwon_tool: warn}}}}
        services:{FAILING_KIT}
    """)
    result = gate.run("-m", "health")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"*{gate.inventory}: environments.t.policy.checks.smoke.unknwon_tool: `smoke.unknwon_tool` is not a "
            "known check id; did you mean `smoke.unknown_tool`?*"
        ]
    )


def test_only_secrets_are_masked_a_port_from_a_variable_stays_readable(
    gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, port = "tok-5e4d3c2b1a-secret", free_port()
    monkeypatch.setenv("BASB_SELFTEST_TOKEN", token)
    monkeypatch.setenv("BASB_SELFTEST_PORT", str(port))
    monkeypatch.setenv("BASB_SELFTEST_PASSPHRASE", "hunter2-passphrase")
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          guarded:
            transport: streamable-http
            url: http://127.0.0.1:${{BASB_SELFTEST_PORT}}/mcp
            health_url: http://127.0.0.1:${{BASB_SELFTEST_PORT}}/not-there
            launch: ["python", "{GOOD_SERVER}", "--http", "${{BASB_SELFTEST_PORT}}",
                     "--require-token", "BASB_SELFTEST_TOKEN"]
            env: {{BASB_SELFTEST_TOKEN: "${{BASB_SELFTEST_TOKEN}}"}}  # a launched server gets only its env
            headers: {{Authorization: "Bearer ${{BASB_SELFTEST_TOKEN}}"}}
            secrets: [BASB_SELFTEST_PASSPHRASE]
            # Listed under `secrets:`, so masked although its variable name does not say so.
            expect: {{server_name: "hunter2-passphrase"}}
    """)
    result = gate.run("-m", "health", "-rA")
    everything = result.stdout.str() + result.stderr.str()
    for path in gate.report_dir.rglob("*"):
        everything += path.read_text(errors="replace") if path.is_file() else ""
    assert token not in everything
    assert "hunter2-passphrase" not in everything
    assert "expected '***'" in everything
    # The health URL's failure names the port that came from ${BASB_SELFTEST_PORT}.
    assert f"GET http://127.0.0.1:{port}/not-there answered" in everything
    assert "127.0.0.1:***" not in everything


@pytest.mark.parametrize("policy", ["", "policy: {checks: {health.liveness: off, health.stdio_hygiene: off}}"])
def test_a_check_that_is_off_sends_no_request(gate: Gate, tmp_path: Path, policy: str) -> None:
    """The two health checks that ping are off: no ping reaches the server, not even sent ahead."""
    from tests.helpers import ROGUE_SERVER

    methods = tmp_path / "methods.log"
    gate.write(f"""
    version: 1
    environments:
      t:
        {policy}
        services:
          rogue:
            transport: stdio
            command: ["python", "{ROGUE_SERVER}", "--method-log", "{methods}"]
    """)
    result = gate.run("-m", "health")
    assert result.ret == 0
    sent = methods.read_text().split()
    assert "tools/list" in sent  # the other checks did talk to it
    assert ("ping" in sent) is (not policy)
