"""The SDK's SSE client with a chosen limit on one server-sent event (the SDK fixes it at 1 MiB).

The gate documents replies up to 8 MiB on every transport, but the SDK's SSE client has no
parameter for its per-event limit: its helper is wrapped here with the gate's limit instead.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any


def sse_client(url: str, *, max_event_size: int, **kwargs: Any) -> contextlib.AbstractAsyncContextManager[Any]:
    from mcp.client import sse

    current: Any = getattr(sse, "sse_within_origin")  # noqa: B009 - not exported, swapped on purpose
    if not (isinstance(current, functools.partial) and current.keywords.get("max_event_size") == max_event_size):
        original = current.func if isinstance(current, functools.partial) else current
        # Module-wide: every SSE session of this process gets this limit, the gate's and others'.
        setattr(sse, "sse_within_origin", functools.partial(original, max_event_size=max_event_size))  # noqa: B010
    return sse.sse_client(url, **kwargs)
