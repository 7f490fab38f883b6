"""The BASB role suites catch a broken service: a capture copy that files notes as done, not inbox."""

from __future__ import annotations

import json

import pytest

from tests.helpers import GOOD_SERVER, REPO, Gate

SERVICES = REPO / "fixtures" / "services"
SEED_VAULT = REPO / "fixtures" / "sample-vault"


def test_capture_suite_fails_a_broken_capture_service(gate: Gate, pytester: pytest.Pytester, python: str) -> None:
    source = (SERVICES / "capture.py").read_text()
    broken = source.replace('"status": "inbox"', '"status": "done"')
    assert broken != source, "capture.py no longer writes status: inbox this way; update the patch"
    (pytester.path / "capture.py").write_text(broken)
    (pytester.path / "basb_vault_lib.py").write_text((SERVICES / "basb_vault_lib.py").read_text())
    gate.write(f"""
    version: 1
    environments:
      t:
        seed_vault: {SEED_VAULT}
        services:
          broken:
            role: capture
            contract: basb/1
            transport: stdio
            command: ["{python}", "{pytester.path / "capture.py"}"]
            env: {{BASB_VAULT: "${{BASB_VAULT}}"}}
          real:
            role: capture
            contract: basb/1
            transport: stdio
            command: ["{python}", "{SERVICES / "capture.py"}"]
            env: {{BASB_VAULT: "${{BASB_VAULT}}"}}
    """)
    result = gate.run_subprocess("-k", "test_basb_capture", "-v")
    result.stdout.fnmatch_lines_random(
        [
            "*test_capture_front_matter?broken? FAILED*",
            "*test_capture_front_matter?real? PASSED*",
            "*test_same_title_twice_gives_two_notes?broken? PASSED*",
            "*test_same_title_twice_gives_two_notes?real? PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(["*basb.capture.front_matter ?broken?*status is 'done', not 'inbox'*"])
    result.assert_outcomes(passed=3, failed=1)
    assert result.ret == 1
    checks = json.loads((gate.report_dir / "gate.json").read_text())["checks"]
    outcomes = {(c["id"], c["service"]): c["outcome"] for c in checks}
    assert outcomes[("basb.capture.front_matter", "broken")] == "fail"
    assert outcomes[("basb.capture.front_matter", "real")] == "pass"


def test_role_contract_catches_a_service_without_the_role_tools(gate: Gate) -> None:
    """A service that claims a role but lacks its contract's tools fails basb.contract."""
    gate.write(f"""
    version: 1
    environments:
      t:
        services:
          impostor:
            role: search
            contract: basb/1
            transport: stdio
            command: ["python", "{GOOD_SERVER}"]
    """)
    result = gate.run("-k", "test_role_contract", "-v")
    result.stdout.fnmatch_lines(["*test_role_contract?impostor? FAILED*"])
    result.stdout.fnmatch_lines(["*search contract: tool search missing; tool backlinks missing*"])
