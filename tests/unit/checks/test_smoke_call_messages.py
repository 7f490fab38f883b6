"""smoke.call messages show what the server answered whenever an expectation failed (no server needed)."""

from __future__ import annotations

from pytest_basb.checks.smoke import smoke_call
from pytest_basb.inventory.load import SmokeCall
from pytest_basb.model.mcp_data import ToolCallOutcome


def test_expected_error_but_got_a_result_shows_the_result() -> None:
    call = SmokeCall(tool="delete_note", expect_is_error=True)
    outcome = ToolCallOutcome(is_error=False, structured_content={"deleted": "inbox/a.md"}, text="")
    result = smoke_call("vault", call, outcome, output_schema=None, latency_s=0.01)
    assert result.outcome == "fail"
    assert result.message == (
        'delete_note: isError is False, expected True; the server answered: {"deleted": "inbox/a.md"}'
    )
    assert result.evidence["answer"] == '{"deleted": "inbox/a.md"}'


def test_unexpected_error_shows_its_text_shortened() -> None:
    call = SmokeCall(tool="echo")
    outcome = ToolCallOutcome(is_error=True, structured_content=None, text="boom " * 100)
    result = smoke_call("kit", call, outcome, output_schema=None, latency_s=0.01)
    assert result.message is not None
    assert result.message.startswith("echo: isError is True, expected False; the server answered: boom boom")
    assert result.message.endswith("…")
