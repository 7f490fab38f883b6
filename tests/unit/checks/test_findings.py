"""Security findings are printable: invisible characters spelled out, quotes bounded, summaries counted."""

from __future__ import annotations

from pytest_basb.checks.findings import OWASP_BY_CHECK, OWASP_MCP, Finding, quote, summary, visible


def test_visible_spells_invisibles_and_keeps_accents_and_spaces() -> None:
    assert visible("a\u200bb c\u202e\x07") == "a[U+200B]b c[U+202E][U+0007]"
    assert visible("cafe\u0301") == "cafe\u0301"  # an ordinary combining accent is visible
    assert visible("x\ufe0f") == "x[U+FE0F]"  # a variation selector hides
    assert visible("a\u00a0b") == "a[U+00A0]b"  # only the plain space is kept


def test_quote_is_bounded_with_context_and_ellipses() -> None:
    text = "x" * 100 + "IGNORE PREVIOUS" + "y" * 100 + "\nz"
    quoted = quote(text, 100, 115, window=5)
    assert quoted == "…xxxxxIGNORE PREVIOUSyyyyy…"
    long_span = quote("a" * 400, 0, 400, window=0, limit=40)
    assert long_span == "a" * 20 + "…" + "a" * 10
    multiline = quote("one\ntwo", 0, 7)
    assert "\n" not in multiline  # a quote stays on its message line
    assert multiline == "one⏎two"  # a line break reads as one, not as [U+000A]
    assert quote("a\r\nb\tc", 0, 5) == "a⏎b[U+0009]c"  # other control characters stay spelled out


def test_summary_lists_the_first_findings_and_counts_the_rest() -> None:
    findings = [Finding("hidden_unicode", "MCP03", f"tool t{i}: description", "q", "U+200B") for i in range(7)]
    text = summary(findings, limit=2)
    assert text == (
        "tool t0: description: hidden_unicode (U+200B) [MCP03]: q; "
        "tool t1: description: hidden_unicode (U+200B) [MCP03]: q; … and 5 more (gate.json)"
    )
    warned = Finding("name_collision", "MCP03", "tool w", "w", "shared", "warn")
    assert summary([warned, findings[0]], limit=1) == findings[0].line() + "; … and 1 more (gate.json)"  # fail first
    assert warned.line() == "tool w: name_collision (shared) [MCP03, warn]: w"
    assert summary(findings[:1]) == findings[0].line()
    assert Finding("k", "MCP01", "w", "q").to_dict() == {"kind": "k", "owasp": "MCP01", "where": "w", "quote": "q"}


def test_every_check_reports_under_known_owasp_ids() -> None:
    assert all(owasp in OWASP_MCP for ids in OWASP_BY_CHECK.values() for owasp in ids)
