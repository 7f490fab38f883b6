"""A bad inventory ends pytest with a usage error (exit 4) that names file, key path and fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_basb.inventory.load import inventory_schema, load_environment
from tests.conftest import Gate

GOOD_SERVICE = """
        transport: stdio
        command: ["python", "server.py"]
"""

CASES = {
    "unknown-key": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transprot: stdio\n"
        "        command: [python, s.py]\n",
        ["environments.t.services.svc.transprot", "unknown key", "did you mean `transport`?"],
    ),
    "wrong-type": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: python s.py\n",
        ["environments.t.services.svc.command", "must be of type array"],
    ),
    "missing-command": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n",
        ["environments.t.services.svc.command", "required for transport stdio"],
    ),
    "missing-url": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: streamable-http\n",
        ["environments.t.services.svc.url", "required for transport streamable-http"],
    ),
    "bad-id": (
        "version: 1\nenvironments:\n  t:\n    services:\n      Bad_Id:\n        transport: stdio\n"
        "        command: [python, s.py]\n",
        ["environments.t.services", "Bad_Id", "lowercase"],
    ),
    "unresolved-var": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: streamable-http\n"
        "        url: http://127.0.0.1:1/mcp\n        headers: {Authorization: 'Bearer ${BASB_TEST_UNSET_TOKEN}'}\n",
        ["environments.t.services.svc.headers.Authorization", "BASB_TEST_UNSET_TOKEN", "is not set"],
    ),
    "yaml-syntax": (
        "version: 1\nenvironments:\n  t:\n    services: [unclosed\n",
        ["YAML syntax error", "line"],
    ),
    "bad-transport": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: websocket\n"
        "        url: http://127.0.0.1:1/mcp\n",
        ["environments.t.services.svc.transport", "stdio, streamable-http, sse"],
    ),
    "unknown-environment": (
        "version: 1\nenvironments:\n  tt:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n",
        ["environments.t", "no such environment", "did you mean `tt`?", "--basb-env"],
    ),
    "golden-bad-pointer": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n        smoke:\n          - tool: now\n            golden: true\n"
        "            ignore: [modified]\n",
        ["environments.t.services.svc.smoke.0.ignore.0", "is not a JSON pointer", "/modified"],
    ),
    "golden-prompt": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n        smoke:\n          - prompt: p\n            golden: true\n",
        ["environments.t.services.svc.smoke.0.golden", "only tool calls"],
    ),
    "ignore-without-golden": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n        smoke:\n          - tool: now\n            ignore: [/at]\n",
        ["environments.t.services.svc.smoke.0.ignore", "add `golden: true`"],
    ),
    "latency-not-positive": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n        latency: {p95_ms: 0}\n",
        ["environments.t.services.svc.latency.p95_ms", "must be greater than 0"],
    ),
    "latency-unknown-key": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n        smoke:\n          - tool: now\n            latency: {p59_ms: 9}\n",
        ["environments.t.services.svc.smoke.0.latency.p59_ms", "did you mean `p95_ms`?"],
    ),
    "extends-unknown": (
        "version: 1\nenvironments:\n  t:\n    extends: stagign\n  staging:\n    services:\n      svc:\n"
        "        transport: stdio\n        command: [python, s.py]\n",
        ["environments.t.extends", "stagign", "did you mean `staging`?"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_inventory_is_a_usage_error(gate: Gate, case: str) -> None:
    text, fragments = CASES[case]
    gate.write(text)
    result = gate.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert str(gate.inventory) in err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    assert "Traceback" not in err + result.stdout.str()


def test_secret_value_never_in_error(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolved secret next to a later error must not leak into the message."""
    monkeypatch.setenv("BASB_TEST_TOKEN", "s3cr3t-token-value")
    gate.write(
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: streamable-http\n"
        "        url: http://127.0.0.1:1/mcp\n        headers: {Authorization: 'Bearer ${BASB_TEST_TOKEN}'}\n"
        "        timeout_s: -1\n"
    )
    result = gate.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = result.stdout.str() + result.stderr.str()
    assert "timeout_s" in out
    assert "s3cr3t-token-value" not in out


def test_missing_inventory_file(gate: Gate) -> None:
    result = gate.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "inventory file not found" in result.stderr.str()


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
