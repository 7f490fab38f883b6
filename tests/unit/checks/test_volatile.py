"""Volatile parts of golden results: pointers that differ between two calls or look like dates/UUIDs."""

from __future__ import annotations

import json

from pytest_basb.checks import golden, volatile


def test_pointers_that_differ_or_look_volatile() -> None:
    first = {
        "text": "hi",
        "id": "0b8f3c1e-6a52-4f0e-9d64-5b3f1f2a7c90",
        "items": [{"n": 1, "seen": "2026-01-15T10:00:00Z"}, {"n": 2}],
        "count": 3,
        "created_at": 1_767_225_600,
        "size": 1_767_225_600,  # a number in the epoch range, but not under a time-like key
        "a/b": "x",
    }
    second = {**first, "count": 4, "a/b": "y", "gone": None}
    del second["gone"]
    found = volatile.volatile_pointers(first, second)
    assert found == {
        "/a~1b": "differs between two calls",
        "/count": "differs between two calls",
        "/created_at": "looks like a timestamp",
        "/id": "looks like a UUID",
        "/items/0/seen": "looks like a date or time",
    }


def test_a_list_of_another_length_is_ignored_whole() -> None:
    assert volatile.volatile_pointers({"xs": [1, 2]}, {"xs": [1, 2, 3]}) == {"/xs": "differs between two calls"}
    assert volatile.volatile_pointers({"a": 1}, {"a": 1}) == {}


def test_plain_words_and_numbers_are_not_volatile() -> None:
    for value in ("hello", "2026", "12:30 meeting", 42, True):
        assert volatile.looks_volatile(value, "time") is None, value
    assert volatile.looks_volatile("Wed, 03 Dec 2026 08:25:21", "") == "date or time"


def test_json_in_a_text_result_is_compared_without_the_ignored_pointers() -> None:
    recorded = {"is_error": False, "text": json.dumps({"tz": "UTC", "datetime": "2026-12-03T08:25:21+00:00"})}
    later = {"is_error": False, "text": json.dumps({"tz": "UTC", "datetime": "2026-12-03T09:00:00+00:00"})}
    assert golden.golden_result("s", "now", recorded, later, ignore=["/datetime"]).outcome == "pass"
    assert golden.golden_result("s", "now", recorded, later, ignore=[]).outcome == "fail"
    moved = {"is_error": False, "text": json.dumps({"tz": "CET", "datetime": "2026-12-03T09:00:00+00:00"})}
    result = golden.golden_result("s", "now", recorded, moved, ignore=["/datetime"])
    assert result.outcome == "fail"
    assert '/tz: expected "UTC", got "CET"' in (result.message or "")
    assert volatile.json_text("not json {") is None
