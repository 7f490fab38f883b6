"""Loading an inventory: regression keys, `extends`, the packaged schema, every problem of a file in
one error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_basb.inventory.load import inventory_schema, load_environment


def test_regression_keys_load(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n        latency: {p95_ms: 250}\n        smoke:\n"
        "          - tool: now\n            golden: true\n            ignore: [/at, /items/*/id]\n"
        "          - tool: slow\n            arguments: {n: 1}\n            latency: {p95_ms: 900}\n"
    )
    service = load_environment(path, "t", environ={}).service("svc")
    now, slow = service.smoke
    assert (now.golden, now.ignore, now.key) == (True, ("/at", "/items/*/id"), "now")
    assert (slow.golden, slow.key) == (False, 'slow {"n": 1}')
    assert service.latency_budget_ms(now) == 250
    assert service.latency_budget_ms(slow) == 900


def test_extends_inherits_and_overrides(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "inv.yaml"  # type: ignore[operator]
    path.write_text(
        "version: 1\ndefaults: {timeout_s: 7}\nenvironments:\n"
        "  base:\n    services:\n      a: {transport: stdio, command: [python, a.py], role: capture}\n"
        "      b: {transport: stdio, command: [python, b.py]}\n"
        "  child:\n    extends: base\n    services:\n      a: {timeout_s: 3}\n      b: null\n"
    )
    env = load_environment(path, "child", environ={})
    assert [s.id for s in env.services] == ["a"]
    assert env.services[0].timeout_s == 3
    assert env.services[0].role == "capture"
    assert load_environment(path, "base", environ={}).service("b").timeout_s == 7


def test_schema_is_packaged_and_matches_loader_fields() -> None:
    """The JSON Schema (the contract editors use) and the loader agree on the service keys."""
    from dataclasses import fields

    from pytest_basb.inventory.load import ServiceConfig, SmokeCall

    schema = inventory_schema()
    service_keys = set(schema["$defs"]["serviceFields"]["properties"])
    # A service's `policy` is read into the environment's one Policy (service over environment over defaults).
    loader_keys = {f.name for f in fields(ServiceConfig)} - {"id"} | {"policy"}
    assert service_keys == loader_keys
    smoke_keys = set(schema["$defs"]["serviceFields"]["properties"]["smoke"]["items"]["properties"])
    call_keys = {f.name for f in fields(SmokeCall)} - {"expect_is_error", "expect_schema"} | {"expect"}
    assert smoke_keys == call_keys
    top = json.loads(json.dumps(schema))
    assert top["properties"]["version"] == {
        "const": 1,
        "description": top["properties"]["version"]["description"],
    }


def test_every_problem_of_a_file_is_reported_in_one_run(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nenvironments:\n  t:\n    services:\n"
        "      one: {transprot: stdio, command: [python, s.py]}\n"
        "      two: {transport: streamable-http, url: 'notes.internal/mcp'}\n"
        "      three: {transport: stdio, command: python s.py}\n"
    )
    with pytest.raises(ValueError, match="3 problems") as info:
        load_environment(path, "t")
    message = str(info.value)
    assert "services.one.transprot: unknown key" in message
    assert "services.three.command: must be of type array" in message
    assert "services.two.url: not a URL: write it as http://host[:port]/path" in message
    assert "notes.internal" not in message  # values are never quoted (they may be secrets)
    assert "^(https?" not in message  # no raw regex


def test_drills_and_incident_are_read_and_inherited(tmp_path: Path) -> None:
    from pytest_basb.inventory.load import IncidentPolicy

    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\nenvironments:\n"
        "  base:\n    drills: allowed\n    incident: {drill_max_age_days: 14, alert_timeout_s: 90}\n"
        "    services:\n      svc: {transport: stdio, command: [python, s.py]}\n"
        "  child:\n    extends: base\n    incident: {drill_max_age_days: 3}\n"
        "  plain:\n    services:\n      svc: {transport: stdio, command: [python, s.py]}\n"
    )
    base = load_environment(path, "base")
    assert base.drills_allowed
    assert base.incident == IncidentPolicy(drill_max_age_days=14, alert_timeout_s=90.0)
    child = load_environment(path, "child")
    assert child.drills_allowed
    assert child.incident == IncidentPolicy(drill_max_age_days=3, alert_timeout_s=90.0)
    plain = load_environment(path, "plain")
    assert not plain.drills_allowed
    assert plain.incident is None
