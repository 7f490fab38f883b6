"""A bad inventory ends pytest with a usage error (exit 4) that names file, key path and fix, without a
traceback and without a secret (tests/unit/inventory/ checks each message at the loader)."""

from __future__ import annotations

import pytest

from tests.helpers import Gate
from tests.unit.inventory.bad_inventories import CASES


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
