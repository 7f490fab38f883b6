"""Secrets (values that came from ${VAR}) are masked in every text and inside JSON-like data."""

from __future__ import annotations

from pytest_basb.inventory.redaction import MASK, Redactor


def test_every_occurrence_is_masked_longest_first() -> None:
    redact = Redactor(["tok-1234", "tok-1234-extended"])
    assert redact.text("a tok-1234-extended b tok-1234 c") == f"a {MASK} b {MASK} c"  # no "***-extended"


def test_short_values_are_not_secrets_worth_hiding() -> None:
    redact = Redactor(["abc", ""])
    assert not redact
    assert redact.text("abc and abc") == "abc and abc"


def test_data_is_masked_in_keys_values_and_nested_lists() -> None:
    secret = "s3cr3t-value"
    data = {"headers": {"Authorization": f"Bearer {secret}"}, secret: [1, (f"x{secret}", None)], "n": 3}
    assert Redactor([secret]).data(data) == {
        "headers": {"Authorization": f"Bearer {MASK}"},
        MASK: [1, [f"x{MASK}", None]],
        "n": 3,
    }


def test_without_secrets_data_is_returned_as_is() -> None:
    data = {"a": ["b"]}
    assert Redactor().data(data) is data
