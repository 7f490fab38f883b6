"""The security scans stay within a small multiple of what they scan, also on hostile listings: a
text with thousands of findings keeps the first ones of each kind and counts the rest."""

from __future__ import annotations

import gc
import re
import tracemalloc
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_basb.checks import poisoning, security, shadowing

# The sentence pattern before it was made possessive: the reference for what a sentence is.
OLD_SENTENCE = re.compile(r"(?:[^.!?;\n]|[.!?;](?=\S))*(?:[.!?;\n]|$)")


def _peak(action: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_thousands_of_findings_in_one_text_are_counted_not_all_kept() -> None:
    text = "word\u200b " * 3000
    result = security.poisoning_check("svc", [("tool t: description", text)])
    assert result.message is not None
    assert result.message.startswith("3000 poisoning finding(s)")
    kept = result.evidence["findings"]
    assert len(kept) == 20
    assert [f.get("more", 0) for f in kept] == [0] * 19 + [2980]
    assert result.message.endswith("and 2995 more (gate.json)")  # 5 shown of 3000


def test_the_cap_is_per_kind_and_per_text() -> None:
    texts = [("a", "x\u200b y\x01 " * 30), ("b", "x\u200b " * 5)]
    findings = security.poisoning_findings(texts)
    by = {(f.where, f.kind): f for f in findings}
    assert by[("a", "hidden_unicode")].more == 10
    assert by[("a", "control_chars")].more == 10
    assert sum(1 for f in findings if f.where == "b") == 5


def test_scans_of_a_hostile_listing_stay_within_a_small_multiple_of_its_size() -> None:
    pieces = ("a\u200bb ", "c\x01d ", "key aB3dE5gH7jK9mN1pQ3sT5vX7 ", "see `read_file` and `tail` then ")
    description = "".join(pieces[i % len(pieces)] for i in range(6000))  # ~100 KB, no sentence ends
    tools = [{"name": "t", "description": description, "inputSchema": {"type": "object"}}]
    size = len(description.encode())
    others = {"other": [{"name": "read_file"}, {"name": "tail"}]}
    scans = {
        "poisoning": lambda: security.poisoning_check("s", security.surface_texts(tools=tools)),
        "secrets": lambda: security.secrets_check("s", security.surface_texts(tools=tools), [], []),
        "shadowing": lambda: shadowing.shadowing_check("s", tools, others),
    }
    for name, action in scans.items():
        assert _peak(action) < 10 * size, name  # before: 40x to 200x, a quote per offending character


def test_a_wide_schema_is_scanned_without_a_labelled_text_per_keyword() -> None:
    properties = {f"p{i}": {"type": "string", "description": f"value {i}"} for i in range(50)}
    properties["bad\u200bname"] = {"type": "string"}
    tool = {"name": "wide", "inputSchema": {"type": "object", "properties": properties}}
    texts = security.surface_texts(tools=[tool])
    assert not [t for _, t in texts if t in ("string", "object", "type", "description")]
    assert len(texts) < 2 * len(properties)
    (finding,) = security.poisoning_findings(texts)
    assert finding.where == "tool wide: inputSchema.properties (keys)"
    assert "bad[U+200B]name" in finding.quote


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab .!?;\n\u200b"), max_size=60))
def test_the_possessive_sentence_pattern_finds_the_same_sentences(text: str) -> None:
    assert [m.span() for m in poisoning.SENTENCE.finditer(text)] == [m.span() for m in OLD_SENTENCE.finditer(text)]
