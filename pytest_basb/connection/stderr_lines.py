"""The lines of a server's stderr worth showing: the last non-blank ones, plus the first error line.

A server that fails to start often prints its root cause ("requires Node.js 22 or newer") before a
long stack trace or usage text; the last lines alone would lose it.
"""

from __future__ import annotations

import re

_ERROR_LINE = re.compile(r"\b(error|fatal|requires?|cannot|could not|failed|not found|denied)\b", re.IGNORECASE)


def meaningful_lines(text: str, lines: int = 8) -> list[str]:
    """The last `lines` non-blank lines; the first error-looking line first when it is not among them."""
    kept = [line for line in text.splitlines() if line.strip()]
    tail = kept[-lines:]
    first_error = next((line for line in kept if _ERROR_LINE.search(line)), None)
    if first_error is not None and first_error not in tail:
        return [first_error, "…", *tail]
    return tail
