"""A reply that is not JSON-RPC (not UTF-8, nested too deep) is reported as what it is, at once,
not as "no answer within the deadline"."""

from __future__ import annotations

import json

import pytest

from tests.helpers import ROGUE_SERVER, Gate


@pytest.mark.parametrize(
    ("mode", "says"),
    [("bad-utf8-call", "reply is not valid UTF-8"), ("deep-call", "nested")],
)
def test_a_malformed_reply_is_named(gate: Gate, mode: str, says: str) -> None:
    gate.write(
        f"""
        version: 1
        environments:
          t:
            services:
              rogue:
                transport: stdio
                timeout_s: 60
                command: ["python", "{ROGUE_SERVER}", "--mode", "{mode}"]
                smoke: [{{tool: echo, arguments: {{text: hi}}}}]
        """
    )
    result = gate.run_subprocess("-k", "declared_call", "-p", "no:xdist", timeout=240)
    assert result.ret == 1, result.stdout.str()[-3000:]
    checks = json.loads((gate.report_dir / "gate.json").read_text())["checks"]
    (call,) = [c for c in checks if c["id"] == "smoke.call"]
    assert call["outcome"] == "fail"
    assert says in call["message"]
    assert "within" not in call["message"]  # not mistaken for a timeout (the deadline is 60 s)
