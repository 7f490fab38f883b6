"""Cutting untrusted or long text down to a size a message can quote."""

from __future__ import annotations

ELLIPSIS = "…"


def shorten(text: str, limit: int, *, squash: bool = False) -> str:
    """`text` cut to at most `limit` characters, the last being "…" when anything was cut.

    `squash` first folds every run of whitespace into one space (for one-line messages).
    """
    if squash:
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS
