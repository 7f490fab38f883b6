"""Reading a note's front matter the way the role suites do: a bad or absent block is an empty dict,
never an error, and the body is what follows it."""

from __future__ import annotations

import pytest

from pytest_basb.checks.notes import split_note


def test_front_matter_and_body_are_split() -> None:
    meta, body = split_note("---\ntags: [idea]\nstatus: draft\n---\n# Title\n\ntext\n")
    assert meta == {"tags": ["idea"], "status": "draft"}
    assert body == "# Title\n\ntext\n"


def test_windows_line_endings() -> None:
    assert split_note("---\r\na: 1\r\n---\r\nbody") == ({"a": 1}, "body")


@pytest.mark.parametrize(
    "text",
    [
        "# no front matter\n---\na: 1\n---\n",  # not on line 1
        "---\na: 1\nno closing line\n",
    ],
)
def test_no_front_matter_is_the_whole_text(text: str) -> None:
    assert split_note(text) == ({}, text)


@pytest.mark.parametrize("block", ["a: [unclosed", "- a list\n- not a mapping", "just words"])
def test_unreadable_or_non_mapping_front_matter_reads_as_empty(block: str) -> None:
    assert split_note(f"---\n{block}\n---\nbody\n") == ({}, "body\n")
