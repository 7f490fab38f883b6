"""The MCP requests a check makes, on an open client (loop thread): listings to the end of pagination,
liveness, tool calls, resources, prompts; and how a handshake and a failure are described."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import mcp_types
from mcp import Client
from mcp.shared.exceptions import MCPError

from pytest_basb.connection.speculation import Speculation
from pytest_basb.connection.wire import MALFORMED_CODE, MESSAGE_LIMIT, OVERSIZED_CODE
from pytest_basb.model.mcp_data import Handshake, ServiceError, ToolCallOutcome
from pytest_basb.model.text import shorten

LISTINGS = {"tools/list": "tools", "resources/list": "resources", "prompts/list": "prompts"}


_PAGE_LIMIT = 1000  # a paginator that never ends must not hang the gate


async def list_all(client: Client, method: str) -> tuple[list[dict[str, Any]], int]:
    """List to the end of pagination; returns the items and the number of pages."""
    key = LISTINGS[method]
    fetch = {
        "tools/list": client.list_tools,
        "resources/list": client.list_resources,
        "prompts/list": client.list_prompts,
    }[method]
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    cursor: str | None = None
    for page in range(1, _PAGE_LIMIT + 1):
        result = await fetch(cursor=cursor)
        items.extend(i.model_dump(by_alias=True, mode="json", exclude_none=True) for i in getattr(result, key))
        cursor = result.next_cursor
        if cursor is None:
            return items, page
        if cursor in seen:
            raise ServiceError(f"{method}: the server repeated cursor {cursor!r}", kind="protocol")
        seen.add(cursor)
    raise ServiceError(f"{method}: more than {_PAGE_LIMIT} pages", kind="protocol")


async def liveness(client: Client, era: str) -> None:
    """`ping` on legacy sessions, `server/discover` on modern ones."""
    if era == "legacy":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the SDK deprecates ping; legacy servers still need it
            await client.send_ping()
    else:
        await client.session.discover()


async def call_tool(client: Client, name: str, arguments: dict[str, Any] | None) -> ToolCallOutcome:
    """Call a tool; a JSON-RPC error is returned as data (checks judge it), not raised."""
    try:
        result = await client.session.call_tool(name, arguments)
    except MCPError as exc:
        if exc.error is not None and exc.error.code in TRANSPORT_CODES:
            raise  # not the server's answer but a broken exchange: Connection.run explains it
        return ToolCallOutcome(
            is_error=True,
            structured_content=None,
            text="",
            error_code=exc.error.code if exc.error else None,
            error_message=str(exc),
        )
    except RuntimeError as exc:  # the SDK refused structuredContent against outputSchema
        return ToolCallOutcome(is_error=False, structured_content=None, text="", validation_error=str(exc))
    assert isinstance(result, mcp_types.CallToolResult)
    return ToolCallOutcome(
        is_error=bool(result.is_error),
        structured_content=result.structured_content,
        text="\n".join(getattr(block, "text", "") for block in result.content),
    )


async def read_resource(client: Client, uri: str) -> list[dict[str, Any]]:
    result = await client.read_resource(uri)
    return [c.model_dump(by_alias=True, mode="json", exclude_none=True) for c in result.contents]


async def get_prompt(client: Client, name: str, arguments: dict[str, str] | None) -> list[dict[str, Any]]:
    result = await client.get_prompt(name, arguments)
    return [m.model_dump(by_alias=True, mode="json", exclude_none=True) for m in result.messages]


def request_label(op: Speculation) -> str:
    """The request as the checks' own messages name it."""
    if op.operation == "liveness":
        return "ping" if op.args[0] == "legacy" else "server/discover"
    method = {"call_tool": "tools/call", "read_resource": "resources/read", "get_prompt": "prompts/get"}
    return f"{method[op.operation]} {op.args[0]}"


OPERATIONS: dict[str, Callable[..., Awaitable[Any]]] = {
    "liveness": liveness,
    "call_tool": call_tool,
    "read_resource": read_resource,
    "get_prompt": get_prompt,
}


# Client-side codes for a broken exchange (the SDK's connection-closed and timeout, our size limit).
TRANSPORT_CODES = (mcp_types.CONNECTION_CLOSED, mcp_types.REQUEST_TIMEOUT, OVERSIZED_CODE, MALFORMED_CODE)


def describe_handshake(client: Client, duration_s: float) -> Handshake:
    session = client.session
    era = "modern" if session.discover_result is not None else "legacy"
    info = client.server_info
    caps = client.server_capabilities.model_dump(by_alias=True, mode="json", exclude_none=True)
    return Handshake(
        protocol_version=client.protocol_version,
        era=era,
        server_name=info.name if info else None,
        server_version=info.version if info else None,
        capabilities=caps,
        instructions=client.instructions,
        duration_s=duration_s,
    )


def describe_exc(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe_exc(e) for e in exc.exceptions)
    if isinstance(exc, ServiceError):
        return str(exc)
    if isinstance(exc, MCPError) and exc.error is not None:
        return f"JSON-RPC error {exc.error.code}: {exc.error.message}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {shorten(text, MESSAGE_LIMIT, squash=True)}"
