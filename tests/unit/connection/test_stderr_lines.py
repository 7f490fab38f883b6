"""The root cause a server printed first survives a long stderr (no server needed)."""

from __future__ import annotations

from pytest_basb.connection.stderr_lines import meaningful_lines


def test_first_error_line_is_kept_before_a_long_trace() -> None:
    text = "Error: this server requires Node.js 22 or newer\n\n" + "".join(f"    at frame {i}\n\n" for i in range(20))
    lines = meaningful_lines(text, lines=5)
    assert lines[0] == "Error: this server requires Node.js 22 or newer"
    assert lines[1] == "…"
    assert lines[2:] == [f"    at frame {i}" for i in range(15, 20)]


def test_blank_lines_never_take_the_place_of_text() -> None:
    assert meaningful_lines("starting\n\n\nready\n\n\n\n\n", lines=2) == ["starting", "ready"]
