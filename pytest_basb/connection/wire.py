"""What crosses the wire of one session: the bounded, redacted transcript, and the recording transport
that notes garbage and refuses oversized replies."""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import mcp_types
from mcp.shared.message import SessionMessage

from pytest_basb.inventory.redaction import Redactor
from pytest_basb.model.text import shorten

MAX_REPLY_BYTES = 8 * 1024 * 1024  # larger replies are refused: a smoke check never needs them


TRANSCRIPT_LIMIT = 200  # messages kept per session for failure attachments


MESSAGE_LIMIT = 160  # characters of an exception or stray output quoted in a message


_TRANSCRIPT_TEXT_LIMIT = 2000  # characters kept of one message in the transcript


@dataclass
class Transcript:
    """The JSON-RPC exchange of one session, bounded, redacted on the way in."""

    redactor: Redactor
    messages: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)

    def record(self, direction: str, payload: Any) -> None:
        self.record_text(direction, json.dumps(payload, default=str))

    def record_text(self, direction: str, text: str) -> None:
        """Record an already serialised message (the transport has the JSON text at hand)."""
        if len(self.messages) >= TRANSCRIPT_LIMIT:
            self.messages.pop(0)
        if len(text) > _TRANSCRIPT_TEXT_LIMIT:
            text = text[:_TRANSCRIPT_TEXT_LIMIT] + f"… ({len(text)} characters)"
        self.messages.append({"t": round(time.time(), 3), "dir": direction, "msg": self.redactor.text(text)})

    def anomaly(self, text: str) -> None:
        if len(self.anomalies) < 50:
            self.anomalies.append(self.redactor.text(text))

    def as_json(self) -> str:
        return json.dumps({"messages": self.messages, "anomalies": self.anomalies}, indent=1)


OVERSIZED_CODE = -32099  # our own code for a reply refused for its size
MALFORMED_CODE = -32098  # ours: a reply line that is not JSON-RPC (bad UTF-8, too deep, not JSON)


_ID_IN_HEAD = re.compile(rb'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)')


def parse_line(line: bytes) -> SessionMessage | Exception:
    """One stdout line as a message. A line that is not JSON-RPC but carries a request id becomes
    an error on that request saying what the line is, so the request fails now, not at its deadline."""
    try:
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except (ValueError, RecursionError) as exc:
        match = _ID_IN_HEAD.search(line[:_HEAD_BYTES])
        if match is None:
            return exc if isinstance(exc, ValueError) else ValueError(_what_is_wrong(line))
        return SessionMessage(
            mcp_types.JSONRPCError(
                jsonrpc="2.0",
                id=json.loads(match.group(1)),
                error=mcp_types.ErrorData(code=MALFORMED_CODE, message=f"reply {_what_is_wrong(line)}"),
            )
        )


_HEAD_BYTES = 512  # where a reply's id is looked for
_MAX_DEPTH = 1000  # deeper JSON is refused before it is parsed (the parser would recurse that deep)


def _what_is_wrong(line: bytes) -> str:
    """Why a line is not a JSON-RPC message, in words: its encoding, its depth, its JSON, its shape."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"is not valid UTF-8 (byte {exc.start} of {len(line)})"
    depth = deepest = 0
    for char in text:  # brackets inside strings count too: an upper bound, enough to refuse
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > _MAX_DEPTH:
        return f"is JSON nested over {_MAX_DEPTH} levels deep ({deepest})"
    try:
        json.loads(text)
    except ValueError as exc:
        return f"is not valid JSON ({exc})"
    return "is JSON but not a JSON-RPC message"


def oversized_reply(size: int, head: bytes) -> SessionMessage | Exception:
    """An error on the request the oversized line answered, so it fails now and says why."""
    match = _ID_IN_HEAD.search(head)
    message = f"reply of {size} bytes refused: over the gate's {MAX_REPLY_BYTES}-byte limit"
    if match is None:
        return ValueError(message)
    return SessionMessage(
        mcp_types.JSONRPCError(
            jsonrpc="2.0",
            id=json.loads(match.group(1)),
            error=mcp_types.ErrorData(code=OVERSIZED_CODE, message=message),
        )
    )


class RecordingTransport:
    """Wraps a transport: records every message, notes garbage, refuses oversized replies.

    An oversized reply is swapped for a JSON-RPC error on the same request id, so the waiting
    request fails at once with a message that says why, instead of at the deadline. The streams
    are wrapped, not pumped through tasks of their own: a hop per message cost a fifth of the
    client's time.
    """

    def __init__(self, inner: Any, transcript: Transcript) -> None:
        self._inner = inner
        self._transcript = transcript
        self.exiting = False

    async def __aenter__(self) -> tuple[RecordingReader, RecordingWriter]:
        read, write = await self._inner.__aenter__()
        return RecordingReader(read, self._transcript, self), RecordingWriter(write, self._transcript)

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        self.exiting = True
        result: bool | None = await self._inner.__aexit__(*exc_info)
        return result


class RecordingReader:
    """The server's messages as the SDK reads them, each inspected and recorded on the way."""

    def __init__(self, inner: Any, transcript: Transcript, transport: RecordingTransport) -> None:
        self._inner = inner
        self._transcript = transcript
        self._transport = transport

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        try:
            item = await self._inner.receive()
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
            if not self._transport.exiting:
                self._transcript.anomaly("the server closed the connection")
            raise anyio.EndOfStream from None
        return self._inspect(item)

    def __aiter__(self) -> RecordingReader:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> RecordingReader:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    def _inspect(self, item: SessionMessage | Exception) -> SessionMessage | Exception:
        if isinstance(item, Exception):
            self._transcript.anomaly(f"non-JSON-RPC output: {shorten(str(item), MESSAGE_LIMIT, squash=True)}")
            self._transcript.record("in!", {"error": shorten(str(item), MESSAGE_LIMIT, squash=True)})
            return item
        text = item.message.model_dump_json(by_alias=True, exclude_none=True)
        size = len(text)
        if size > MAX_REPLY_BYTES:  # HTTP replies arrive whole; stdio ones were refused while read
            request_id = getattr(item.message, "id", None)
            reply = oversized_reply(size, json.dumps({"id": request_id}).encode())
            item = reply if isinstance(reply, SessionMessage) else item
            text = json.dumps({"id": request_id, "oversized_bytes": size})
        error = getattr(item.message, "error", None)
        if error is not None and error.code == OVERSIZED_CODE:
            self._transcript.anomaly(error.message)
        self._transcript.record_text("in", text)
        return item


class RecordingWriter:
    """The client's messages on their way to the server, recorded; a closed server drops them
    (the request then fails when the reader sees the end of the stream)."""

    def __init__(self, inner: Any, transcript: Transcript) -> None:
        self._inner = inner
        self._transcript = transcript

    async def send(self, item: SessionMessage, /) -> None:
        self._transcript.record_text("out", item.message.model_dump_json(by_alias=True, exclude_none=True))
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            await self._inner.send(item)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self._inner.aclose()

    async def __aenter__(self) -> RecordingWriter:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()
