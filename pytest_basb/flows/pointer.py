"""JSON pointers (RFC 6901) into an answer: `save` and `equals` read values with them."""

from __future__ import annotations

from typing import Any


class PointerError(LookupError):
    """The pointer names nothing in the document; the message says where it stopped."""


def resolve(document: Any, pointer: str) -> Any:
    """The value at `pointer` ("" is the whole document), or PointerError."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        raise PointerError(f"{pointer!r} is not a JSON pointer (it must start with /)")
    value = document
    walked = ""
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            if token not in value:
                raise PointerError(f"{walked or '/'} has no key {token!r}")
            value = value[token]
        elif isinstance(value, list):
            if not token.isdigit() or int(token) >= len(value) or (token.startswith("0") and token != "0"):
                raise PointerError(f"{walked or '/'} is a list of {len(value)}; no index {token!r}")
            value = value[int(token)]
        else:
            raise PointerError(f"{walked or '/'} is {type(value).__name__}, not an object or a list")
        walked += "/" + raw
    return value
